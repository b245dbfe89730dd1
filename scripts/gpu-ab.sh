#!/usr/bin/env bash
# On the GPU machine: A/B of benchmark scenarios between git revisions, on one machine in
# one go. Machines of the same kind differ by up to ~15 % (docs/BENCHMARKS.md), so a
# speed-up is only believed when both sides ran here, interleaved.
#   bash scripts/gpu-ab.sh OUTDIR REV [REV...] -- [cascade bench scenarios flags]
# Each REV (a commit, a branch, or WORKTREE for the working tree as it is) is checked out
# with `git worktree` (the device tool's copy of the repository holds main as it last
# landed, not local branches or commits since: compare main against WORKTREE) and built (Release with debug info, sm_90) into its own folder; then
# ROUNDS (default 2) rounds run the scenarios once per revision, in order, and the
# figures go to OUTDIR/<round>-<n>.log and a summary at the end. Needs .debs/ as
# gpu-check.sh does. DEVICE=cpu runs the scenarios on the CPU backend instead. Example:
#   ROUNDS=2 bash scripts/gpu-ab.sh $OUT main perf/decode-gemv -- --scenario B6 --repeats 3
set -uo pipefail
out=${1:?usage: scripts/gpu-ab.sh OUTDIR REV [REV...] -- [bench flags]}
shift
revs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  revs+=("$1")
  shift
done
[ $# -gt 0 ] && shift
bench_args=("$@")
[ ${#revs[@]} -gt 0 ] || {
  echo "gpu-ab.sh: name at least one revision" >&2
  exit 2
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

bash scripts/gpu-deps.sh unpack >/dev/null || exit 1
# shellcheck disable=SC1091
source /tmp/deps/env.sh
export LD_LIBRARY_PATH=$DEPS_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

binaries=()
for i in "${!revs[@]}"; do
  rev=${revs[$i]}
  src=$root
  if [ "$rev" != WORKTREE ]; then
    src=/tmp/cascade-ab-$i
    rm -rf "$src"
    git worktree prune
    git worktree add --detach "$src" "$rev" >"$out/worktree-$i.log" 2>&1 || {
      echo "gpu-ab.sh: cannot check out '$rev' (see $out/worktree-$i.log)" >&2
      exit 1
    }
  fi
  build=/tmp/cascade-ab-build-$i
  if ! { cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCASCADE_CUDA=ON -DCASCADE_BUILD_PYTHON=OFF \
    -DNODE_EXECUTABLE=/bin/false && cmake --build "$build" -j "$(nproc)" --target cascade; } \
    >"$out/build-$i.log" 2>&1; then
    echo "gpu-ab.sh: building '$rev' failed (see $out/build-$i.log)" >&2
    exit 1
  fi
  binaries+=("$build/cascade")
  echo "[$i] $rev = $(git -C "$src" rev-parse --short HEAD)$([ "$rev" = WORKTREE ] && echo ' (working tree)')"
done

for round in $(seq 1 "${ROUNDS:-2}"); do
  for i in "${!revs[@]}"; do
    "${binaries[$i]}" bench scenarios --device "${DEVICE:-cuda}" --cache-dir /tmp/cascade-ab-models \
      "${bench_args[@]}" >"$out/$round-$i.log" 2>&1 || echo "[$i] round $round failed" >&2
  done
done

echo "== figures (median of the repeats; one line per revision and round) =="
for i in "${!revs[@]}"; do
  for round in $(seq 1 "${ROUNDS:-2}"); do
    grep -E '^  [A-Za-z]' "$out/$round-$i.log" | grep -vE '^  (workload|checksum)' |
      sed "s/^/[$i] r$round /" | cut -c1-150
  done
done | sort -s -k3
