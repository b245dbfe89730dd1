#!/usr/bin/env python3
"""ctest (label bench): runs `cascade bench scenarios --scenario all` scaled down on the CPU
with the tiny geometry and checks its JSON: every scenario B1-B7, positive figures and
floors, ratio = median / floor, one run per repeat, variant ratios, workload checksums.

    check_scenarios_json.py CASCADE_BINARY WORK_DIR
"""
import json
import math
import os
import subprocess
import sys

SCALE = 0.05
SCENARIOS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7"]


def fail(message):
    print("check_scenarios_json: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    cascade, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "scenarios.json")
    if os.path.exists(path):
        os.remove(path)
    command = [cascade, "bench", "scenarios", "--scenario", "all", "--geometry", "tiny",
               "--device", "cpu", "--threads", "2", "--scale", str(SCALE), "--repeats", "1",
               "--b2-batches", "20,80", "--cache-dir", os.path.join(work, "models"),
               "--json", path]
    run = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        fail("exit %d: %s" % (run.returncode, run.stderr.strip()))
    if "SCALED" not in run.stdout:
        fail("the printed report does not say that the run was scaled")
    with open(path) as f:
        report = json.load(f)
    meta = report["meta"]
    if meta["scale"] != SCALE or meta["device"] != "cpu" or meta["repeats"] != 1:
        fail("meta does not match the command: %r" % meta)
    for key in ("date", "commit", "device_description", "peaks_source"):
        if not meta.get(key):
            fail("meta.%s is empty" % key)
    if not (meta["peak_gbs"] > 0 and meta["peak_tflops"] > 0):
        fail("peaks must be positive: %r" % meta)
    seen = [s["id"] for s in report["scenarios"]]
    for sid in SCENARIOS:
        if sid not in seen:
            fail("scenario %s missing (got %s)" % (sid, seen))
    for s in report["scenarios"]:
        where = s["id"] + " " + s["geometry"]
        if s["geometry"] != "tiny":
            fail(where + ": --geometry tiny was not used")
        if not (s["checksum"]["prompt_tokens"] > 0 and s["checksum"]["output_tokens"] > 0):
            fail(where + ": empty workload checksum")
        if not s["measurements"]:
            fail(where + ": no measurements")
        for m in s["measurements"]:
            name = where + " / " + m["name"]
            if not (m["median"] > 0 and m["floor"] > 0):
                fail(name + ": figure and floor must be positive: %r" % m)
            if not math.isclose(m["ratio"], m["median"] / m["floor"], rel_tol=1e-9):
                fail(name + ": ratio %r != median / floor" % m["ratio"])
            if len(m["runs"]) != 1 or not (m["min"] <= m["median"] <= m["max"]):
                fail(name + ": runs / spread wrong: %r" % m)
            if m["unit"] != "bytes" and not (m["achieved_gbs"] and m["achieved_gbs"] > 0):
                fail(name + ": no achieved GB/s for a timing")
        for v in s["variants"]:
            if not v["ratio"] > 0:
                fail(where + ": variant %r" % v)
    b2 = next(s for s in report["scenarios"] if s["id"] == "B2")
    points = sorted((m["params"]["batch"], m["params"]["cascade"]) for m in b2["measurements"])
    if points != [(1, False), (1, True), (4, False), (4, True)]:
        fail("B2 batches x cascade on/off: %r" % points)
    print("check_scenarios_json: %d scenario reports OK" % len(report["scenarios"]))


if __name__ == "__main__":
    main()
