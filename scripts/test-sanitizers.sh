#!/usr/bin/env bash
# Builds and runs the tests under sanitizers (CASCADE_SANITIZE, cmake/sanitizers.cmake):
#   build-asan: AddressSanitizer + UndefinedBehaviorSanitizer, the whole ctest suite;
#   build-tsan: ThreadSanitizer, the tests that run more than one thread (thread pool,
#               CPU backend, sampler, engine, scheduler, the HTTP server).
# Both leave out CUDA and the Python module and build at -O1 -g. Any report fails the test.
#   scripts/test-sanitizers.sh [asan|tsan|all] [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
shift || true
jobs=${JOBS:-$(nproc)}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# tests/tsan.supp: reports from inside OpenBLAS, whose threads TSan cannot follow.
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}

build_sanitized() {  # build_sanitized DIR SANITIZERS [TARGET...]
  local dir=$1 sanitizers=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCASCADE_CUDA=OFF \
    -DCASCADE_BUILD_PYTHON=OFF -DCASCADE_SANITIZE="$sanitizers" >/dev/null
  cmake --build "$dir" -j "$jobs" ${1:+--target "$@"}
}

# The tests that start threads; everything else in the suite is single-threaded.
threaded_tests='^(ThreadPool|CpuBackend|Sampler|Engine|EngineConsistency|Scheduler)\.|^server_openai$'

case "$which" in
  asan | tsan | all) ;;
  *) echo "test-sanitizers.sh: expected asan, tsan or all, got '$which'" >&2; exit 2 ;;
esac
if [[ "$which" == asan || "$which" == all ]]; then
  build_sanitized build-asan address,undefined
  ctest --test-dir build-asan --output-on-failure -j "$jobs" "$@"
fi
if [[ "$which" == tsan || "$which" == all ]]; then
  build_sanitized build-tsan thread cascade_tests cascade  # the examples repeat the engine tests
  # Without address-space randomisation: GCC 12's TSan cannot map its shadow memory on
  # kernels with vm.mmap_rnd_bits above 28 ("unexpected memory mapping").
  no_aslr=()
  if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi
  "${no_aslr[@]}" ctest --test-dir build-tsan --output-on-failure -j "$jobs" \
    -R "$threaded_tests" "$@"
fi
