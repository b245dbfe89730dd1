#!/usr/bin/env python3
"""Where a run's time goes by step size, from a CASCADE_STEP_TRACE file, against a floor.

Steps are grouped: prefill steps (any prefill tokens) by their tokens, decode steps by
their rows. Per group: steps, seconds, share of the run, mean ms a step, and the floor of
the same steps (every weight read once a step plus each step's keys' K and V at the copy
rate; prefill adds 2 * params * tokens at the matrix-product rate), the ratio floor/time,
and the seconds above the floor. The defaults are Qwen3-0.6B in bf16; give the peaks that
`cascade bench` printed for the run. Standard library only.

    CASCADE_STEP_TRACE=b1.csv cascade bench scenarios --device cuda --scenario B1 --repeats 1
    python3 tools/step_trace_summary.py b1.csv --gbs 4300 --tflops 690 --skip-steps 3
"""
import argparse
import csv
import sys

DECODE_BUCKETS = [(1, 1), (2, 8), (9, 16), (17, 32), (33, 64), (65, 128), (129, 192),
                  (193, 256), (257, 1 << 30)]
PREFILL_BUCKETS = [(1, 1024), (1025, 4096), (4097, 16384), (16385, 1 << 30)]


def read_steps(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "context_tokens" not in rows[0]:
        raise ValueError(f"{path}: not a CASCADE_STEP_TRACE file (no context_tokens column)")
    return [{k: float(v) for k, v in row.items()} for row in rows]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--gbs", type=float, required=True, help="copy bandwidth, GB/s")
    parser.add_argument("--tflops", type=float, required=True, help="bf16 matrix TFLOP/s")
    parser.add_argument("--params", type=float, default=596.0e6)
    parser.add_argument("--weight-bytes", type=float, default=1.192e9)
    parser.add_argument("--kv-bytes-per-token", type=float, default=114688.0)
    parser.add_argument("--skip-steps", type=int, default=0,
                        help="leave out the first N steps (a warm-up)")
    args = parser.parse_args(argv)
    steps = read_steps(args.trace)[args.skip_steps:]
    bw, flops = args.gbs * 1e9, args.tflops * 1e12
    total = sum(s["seconds"] for s in steps)
    groups = []
    for kind, buckets in (("prefill", PREFILL_BUCKETS), ("decode", DECODE_BUCKETS)):
        for lo, hi in buckets:
            chosen = [s for s in steps if (s["prefill_tokens"] > 0) == (kind == "prefill") and
                      lo <= (s["prefill_tokens"] if kind == "prefill" else s["rows"]) <= hi]
            if not chosen:
                continue
            seconds = sum(s["seconds"] for s in chosen)
            floor = sum((args.weight_bytes + s["context_tokens"] * args.kv_bytes_per_token) / bw +
                        2 * args.params * s["prefill_tokens"] / flops for s in chosen)
            label = f"{kind} {lo}-{hi}" if hi < (1 << 30) else f"{kind} {lo}+"
            groups.append((label, len(chosen), seconds, floor))
    print(f"{len(steps)} steps, {total:.3f} s")
    print(f"{'group':<20}{'steps':>7}{'seconds':>10}{'share':>8}{'ms/step':>9}"
          f"{'floor s':>10}{'floor/time':>11}{'s above':>9}")
    for label, count, seconds, floor in groups:
        print(f"{label:<20}{count:>7}{seconds:>10.3f}{100 * seconds / total:>7.1f}%"
              f"{1e3 * seconds / count:>9.3f}{floor:>10.3f}{100 * floor / seconds:>10.1f}%"
              f"{seconds - floor:>9.3f}")
    floor_all = sum(g[3] for g in groups)
    print(f"{'all':<20}{len(steps):>7}{total:>10.3f}{100.0:>7.1f}%{'':>9}{floor_all:>10.3f}"
          f"{100 * floor_all / total:>10.1f}%{total - floor_all:>9.3f}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (OSError, ValueError) as e:
        sys.exit(f"step_trace_summary: {e}")
