#!/usr/bin/env python3
"""Kernel durations from an `ncu --csv --metrics gpu__time_duration.sum` log, summed.

The kernels are taken in launch order and cut into segments where a kernel's name
matches --split (e.g. the embedding kernel that starts every forward pass), so one
engine step is one segment. Per segment: kernel count and total time; then, over the
segments chosen by --segments (default all), each kernel name's calls and time, largest
first. Standard library only.

    ncu --csv --metrics gpu__time_duration.sum ... > run.csv
    python3 tools/ncu_summary.py run.csv --split embedding_kernel --segments 3,4
"""
import argparse
import csv
import re
import sys
from collections import defaultdict

UNIT_TO_US = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3,
              "ms": 1e3, "second": 1e6, "s": 1e6}


def read_kernels(lines):
    """[(kernel name, microseconds)] in launch order from ncu's CSV output.

    ncu prints its own progress lines (starting with '==') around the CSV; those are
    skipped. Rows whose metric is not gpu__time_duration.sum are ignored."""
    rows = [line for line in lines if line.startswith('"')]
    if not rows:
        raise ValueError("no CSV rows (was ncu run with --csv?)")
    kernels = []
    for row in csv.DictReader(rows):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = row.get("Metric Unit", "")
        if unit not in UNIT_TO_US:
            raise ValueError(f"unknown time unit '{unit}' in the Metric Unit column")
        value = float(row["Metric Value"].replace(",", ""))
        kernels.append((row["Kernel Name"], value * UNIT_TO_US[unit]))
    if not kernels:
        raise ValueError("no gpu__time_duration.sum rows")
    return kernels


def short_name(name):
    """The kernel's name without namespaces and parameter list (template arguments kept)."""
    name = name.replace("(anonymous namespace)::", "")
    name = re.sub(r"^void ", "", name)
    depth, cut, last_scope = 0, len(name), -1
    for i, ch in enumerate(name):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0 and ch == "(":
            cut = i
            break
        elif depth == 0 and name.startswith("::", i):
            last_scope = i + 1
    return name[last_scope + 1 : cut] or name


def segments_of(kernels, split):
    """Cuts the launch sequence before every kernel whose name matches `split`."""
    if split is None:
        return [kernels]
    pattern = re.compile(split)
    segments = [[]]
    for kernel in kernels:
        if pattern.search(kernel[0]) and segments[-1]:
            segments.append([])
        segments[-1].append(kernel)
    return segments


def parse_indices(text, count):
    if text is None:
        return list(range(count))
    chosen = []
    for part in text.split(","):
        index = int(part)
        if not 0 <= index < count:
            raise ValueError(f"--segments: {index} is not a segment (0..{count - 1})")
        chosen.append(index)
    return chosen


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="ncu's output with --csv (progress lines are skipped)")
    parser.add_argument("--split", help="regex: a new segment starts at each matching kernel")
    parser.add_argument("--segments", help="comma-separated segment numbers to total (default all)")
    parser.add_argument("--top", type=int, default=25, help="kernel names to list")
    args = parser.parse_args(argv)
    try:
        with open(args.csv, encoding="utf-8", errors="replace") as f:
            kernels = read_kernels(f.read().splitlines())
        segments = segments_of(kernels, args.split)
        chosen = parse_indices(args.segments, len(segments))
    except (OSError, ValueError) as e:
        print(f"ncu_summary.py: {args.csv}: {e}", file=sys.stderr)
        return 1
    print(f"{len(kernels)} kernels in {len(segments)} segment(s)")
    for i, segment in enumerate(segments):
        total = sum(us for _, us in segment)
        print(f"  segment {i}: {len(segment)} kernels, {total:.1f} us")
    calls, time = defaultdict(int), defaultdict(float)
    for i in chosen:
        for name, us in segments[i]:
            calls[short_name(name)] += 1
            time[short_name(name)] += us
    total = sum(time.values())
    print(f"segments {','.join(map(str, chosen))}: {total:.1f} us; by kernel:")
    for name in sorted(time, key=time.get, reverse=True)[: args.top]:
        print(f"  {time[name]:10.1f} us {100 * time[name] / total:5.1f} % "
              f"{calls[name]:6d} calls  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
