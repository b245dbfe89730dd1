#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang, ASan and UBSan into build-fuzz/
# and runs one target, or all of them one after another, for SECONDS each.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      e.g. scripts/fuzz.sh safetensors_fuzz 600
# Each target starts from its seed corpus fuzz/corpus/<target>/ (read only); inputs it finds
# go to build-fuzz/corpus/<target>/, crashes to build-fuzz/findings/<target>/, and the run's
# log to build-fuzz/logs/<target>.log (its last lines hold exec/s, cov: and ft:).
# Extra libFuzzer flags can be passed in FUZZ_FLAGS; JOBS sets the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-60}
build="build-fuzz"

cmake -S fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++}" > /dev/null
nice cmake --build "$build" -j "${JOBS:-2}"

if [[ "$target" == all ]]; then
  targets=$(cd fuzz && for f in *_fuzz.cpp; do echo "${f%.cpp}"; done)
else
  targets=$target
fi

failed=()
for name in $targets; do
  [[ -x "$build/$name" ]] || { echo "fuzz.sh: no target '$name' (see fuzz/*_fuzz.cpp)" >&2; exit 2; }
  mkdir -p "$build/corpus/$name" "$build/findings/$name" "$build/logs"
  echo "== $name: ${seconds}s"
  # -timeout: an input that takes over 10 s is reported as a hang; -rss_limit_mb as a leak.
  # shellcheck disable=SC2086
  nice "$build/$name" "$build/corpus/$name" "fuzz/corpus/$name" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$name/" ${FUZZ_FLAGS:-} 2>&1 | tee "$build/logs/$name.log" |
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==|SUMMARY|artifact_prefix)' || true
  if ! grep -q '^Done [0-9]* runs' "$build/logs/$name.log"; then
    echo "fuzz.sh: $name found a problem; see $build/logs/$name.log and $build/findings/$name/" >&2
    failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
