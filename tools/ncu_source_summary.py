#!/usr/bin/env python3
"""Where a kernel's warps wait, by instruction, from ncu's source view.

Reads `ncu --import REPORT --page source --csv --print-source sass` (a report taken with
--set full, whose SourceCounters section samples warp stalls per SASS instruction) and
prints: the total samples and the largest stall reasons; the kernel cut into runs of
consecutive instructions with the same execution count (a loop body, a warp-specific
branch, the set-up), each with its samples and share; and the instructions with the most
samples, with their largest reasons. Standard library only.

    ncu --set full -k regex:attention_wgmma -c 1 -o wg ...
    ncu --import wg.ncu-rep --page source --csv --print-source sass > wg.csv
    python3 tools/ncu_source_summary.py wg.csv [--top 25] [--min-share 1]
"""
import argparse
import csv
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"


def read_rows(path):
    """(header, rows) of the instruction table: the first row naming SAMPLES."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    for i, row in enumerate(rows):
        if SAMPLES in row:
            return row, [r for r in rows[i + 1:] if len(r) == len(row)]
    raise ValueError(f"{path}: no column '{SAMPLES}' (was the report taken with --set full?)")


def as_int(text):
    try:
        return int(float(text))
    except ValueError:
        return 0


def runs_of_equal_counts(executed, samples):
    """[(first, last, execution count, samples)] over runs of consecutive instructions
    with the same execution count."""
    runs, start = [], 0
    for i in range(1, len(executed) + 1):
        if i < len(executed) and executed[i] == executed[start]:
            continue
        runs.append((start, i - 1, executed[start], sum(samples[start:i])))
        start = i
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv")
    parser.add_argument("--top", type=int, default=25, help="instructions listed")
    parser.add_argument("--min-share", type=float, default=1.0,
                        help="runs of instructions listed from this share of samples (%%)")
    args = parser.parse_args(argv)
    try:
        header, rows = read_rows(args.csv)
    except (OSError, ValueError) as e:
        print(f"ncu_source_summary: {e}", file=sys.stderr)
        return 1
    col = {name: i for i, name in enumerate(header)}
    reasons = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    samples = [as_int(r[col[SAMPLES]]) for r in rows]
    executed = [as_int(r[col[EXECUTED]]) for r in rows]
    total = sum(samples) or 1
    by_reason = {h: sum(as_int(r[col[h]]) for r in rows) for h in reasons}
    print(f"{len(rows)} instructions, {sum(samples)} stall samples")
    print("largest reasons: " + ", ".join(
        f"{h[len('stall_'):]} {100 * v / total:.1f} %"
        for h, v in sorted(by_reason.items(), key=lambda kv: -kv[1])[:6] if v))

    print("\nruns of instructions with one execution count (from the share given):")
    for first, last, count, run in runs_of_equal_counts(executed, samples):
        if 100 * run / total >= args.min_share:
            print(f"  [{first:5d}, {last:5d}]  executed {count:8d}  "
                  f"{last - first + 1:4d} instructions  {run:6d} samples  {100 * run / total:5.1f} %")

    print(f"\nthe {args.top} instructions with the most samples:")
    order = sorted(range(len(rows)), key=lambda i: -samples[i])[:args.top]
    for i in order:
        top = sorted(((as_int(rows[i][col[h]]), h[len("stall_"):]) for h in reasons),
                     reverse=True)[:3]
        why = " ".join(f"{name}:{v}" for v, name in top if v)
        print(f"  {i:5d}  {samples[i]:6d}  {100 * samples[i] / total:5.1f} %  "
              f"{rows[i][col['Source']].strip()[:60]:60s} {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
