#!/usr/bin/env bash
# On the GPU machine: A/B of benchmark scenarios between git revisions, on one machine in
# one go. Machines of the same kind differ by up to ~15 % (docs/BENCHMARKS.md), so a
# speed-up is only believed when both sides ran here, interleaved.
#   bash scripts/gpu-ab.sh OUTDIR REV [REV...] -- [cascade bench scenarios flags]
# Each REV (a commit, a branch, or WORKTREE for the working tree as it is) is checked out
# with `git worktree` and built (Release with debug info, sm_90a) into its own folder. The
# device tool's copy of the repository holds main as it last landed, not local branches
# or commits since: there, compare main against WORKTREE. Then ROUNDS (default 2) rounds
# run the scenarios once per revision (and per VARIANTS flag set, below), in order; the
# figures go to OUTDIR/<round>-<n>.<variant>.log and a summary at the end. Needs .debs/
# as gpu-check.sh does. DEVICE=cpu runs the scenarios on the CPU backend instead. E.g.:
#   ROUNDS=2 bash scripts/gpu-ab.sh $OUT main WORKTREE -- --scenario B6 --repeats 3
#   VARIANTS="--cascade-min-shared-tokens 16;--cascade-min-shared-tokens 256" \
#     bash scripts/gpu-ab.sh $OUT WORKTREE -- --scenario B3
# TESTS="gtest filter" first builds the last revision's cascade_cuda_tests and runs those
# tests (CASCADE_CUDA_TIMING=1, so CudaTiming.* may be named); RACECHECK="gtest filter"
# runs tests of it under compute-sanitizer racecheck (each stopped after TESTS_TIMEOUT
# seconds, default 300); if either fails, no benchmark runs.
# Logs: OUTDIR/tests.log, racecheck.log. Each benchmark run is stopped after BENCH_TIMEOUT
# seconds (default 300). The device tool brings back only a few files, so at exit the other
# logs (builds, worktrees, one per benchmark run) go into OUTDIR/logs.tar.gz, and the
# figures' summary into OUTDIR/summary.txt.
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
pack_logs() {
  local logs=() f
  for f in "$out"/*.log; do
    case ${f##*/} in tests.log | racecheck.log) ;; *) [ -f "$f" ] && logs+=("${f##*/}") ;; esac
  done
  [ ${#logs[@]} -gt 0 ] || return 0
  tar -C "$out" -czf "$out/logs.tar.gz" "${logs[@]}" && (cd "$out" && rm -f -- "${logs[@]}")
}
trap pack_logs EXIT
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
  # A warm machine keeps build folders: one configured from another source is started over.
  if [ -f "$build/CMakeCache.txt" ] &&
    ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$build/CMakeCache.txt"; then
    rm -rf "$build"
  fi
  if ! { cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CUDA_ARCHITECTURES=90a -DCASCADE_CUDA=ON -DCASCADE_BUILD_PYTHON=OFF \
    -DNODE_EXECUTABLE=/bin/false && cmake --build "$build" -j "$(nproc)" --target cascade; } \
    >"$out/build-$i.log" 2>&1; then
    echo "gpu-ab.sh: building '$rev' failed (see $out/build-$i.log)" >&2
    exit 1
  fi
  binaries+=("$build/cascade")
  echo "[$i] $rev = $(git -C "$src" rev-parse --short HEAD)$([ "$rev" = WORKTREE ] && echo ' (working tree)')"
done

# VARIANTS: flag sets separated by ';' (e.g. "--cascade-min-shared-tokens 16;--cascade-min-shared-tokens 256"),
# each run on every revision after the common flags; labels [revision.variant]. Leading
# NAME=VALUE words of a set go into the environment instead (e.g.
# "CASCADE_ATTENTION_KERNEL=mma;CASCADE_ATTENTION_KERNEL=wgmma").
IFS=';' read -ra variants <<<"${VARIANTS:-}"
[ ${#variants[@]} -gt 0 ] || variants=("")
for v in "${!variants[@]}"; do
  [ -n "${variants[$v]}" ] && echo "[*.$v] ${variants[$v]}"
done

if [ -n "${TESTS:-}${RACECHECK:-}" ]; then
  last=$((${#revs[@]} - 1))
  build=/tmp/cascade-ab-build-$last
  if ! cmake --build "$build" -j "$(nproc)" --target cascade_cuda_tests >"$out/tests-build.log" 2>&1; then
    echo "gpu-ab.sh: building the tests of '${revs[$last]}' failed (see $out/tests-build.log)" >&2
    exit 1
  fi
  if [ -n "${TESTS:-}" ]; then
    CASCADE_CUDA_TIMING=1 timeout "${TESTS_TIMEOUT:-300}" "$build/tests/cascade_cuda_tests" --gtest_filter="$TESTS" \
      >"$out/tests.log" 2>&1
    rc=$?
    echo "== tests of ${revs[$last]} (rc $rc) =="
    grep -E '^\[  (PASSED|FAILED) |^\[timing\]' "$out/tests.log"
    [ $rc -eq 0 ] || tests_failed=1
  fi
  if [ -n "${RACECHECK:-}" ]; then
    timeout "${TESTS_TIMEOUT:-300}" compute-sanitizer --tool racecheck "$build/tests/cascade_cuda_tests" \
      --gtest_filter="$RACECHECK" >"$out/racecheck.log" 2>&1
    rc=$?
    echo "== racecheck of ${revs[$last]} (rc $rc) =="
    grep -E 'RACECHECK SUMMARY|^\[  (PASSED|FAILED) ' "$out/racecheck.log"
    [ $rc -eq 0 ] || tests_failed=1
  fi
fi
if [ -n "${tests_failed:-}" ]; then
  echo "gpu-ab.sh: tests failed; no benchmarks run" >&2
  exit 1
fi

for round in $(seq 1 "${ROUNDS:-2}"); do
  for i in "${!revs[@]}"; do
    for v in "${!variants[@]}"; do
      read -ra extra <<<"${variants[$v]}"
      envs=()
      while [ ${#extra[@]} -gt 0 ] && [[ ${extra[0]} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
        envs+=("${extra[0]}")
        extra=("${extra[@]:1}")
      done
      timeout "${BENCH_TIMEOUT:-300}" env "${envs[@]}" "${binaries[$i]}" bench scenarios --device "${DEVICE:-cuda}" \
        --cache-dir /tmp/cascade-ab-models "${bench_args[@]}" "${extra[@]}" \
        >"$out/$round-$i.$v.log" 2>&1 || echo "[$i.$v] round $round failed" >&2
    done
  done
done

{
  echo "== figures (median of the repeats; one line per revision.variant and round) =="
  for i in "${!revs[@]}"; do
    for v in "${!variants[@]}"; do
      for round in $(seq 1 "${ROUNDS:-2}"); do
        grep -E '^  [A-Za-z]' "$out/$round-$i.$v.log" | grep -vE '^  (workload|checksum)' |
          sed "s/^/[$i.$v] r$round /" | cut -c1-150
      done
    done
  done | sort -s -k3
} | tee "$out/summary.txt"
