#!/usr/bin/env bash
# On the GPU machine: builds cascade with CUDA into build-gpu, makes the transformers bf16
# references (tools/make_bf16_references.py, under /tmp), runs the GPU tests
# (ctest -L cuda), the kernel timings, the benchmark scenarios B1-B7 (scenarios.log,
# scenarios.json and b2.svg in OUTDIR), and compute-sanitizer memcheck and racecheck on the
# kernel tests. Full logs go to OUTDIR; a short table is printed last.
#   bash scripts/gpu-check.sh OUTDIR [MODE]
# MODE: full (default: everything), quick (no sanitizers), tests (the GPU tests and
# kernel timings only), bench (the scenarios only), sanitize (compute-sanitizer only),
# profile (not part of full: where B4's and B6's time goes — the engine's host phases,
# ncu kernel durations per forward pass, and full ncu reports of the wgmma kernel (with
# its stall samples per SASS instruction, tools/ncu_source_summary.py) on B2's shared
# chunks and in B4's cached step, B4's merge kernel, the CUDA-core kernel on decode rows
# and B6's GEMVs; B4 after B1-B3 in one process against B4 alone, with the GPU's clocks),
# profile-b1 (not part of full: B1's host phases and its kernels' time by name over ten
# decode steps at full batch and over its prefill steps), sass (not part of full: the
# attention and GEMV kernels' machine code, OUTDIR/*.sass, and their loops' instruction mix
# by tools/sass_mix.py).
# STEPS='decode_ncu_8|gemv_ncu' runs only the named steps of MODE (and the build).
# Needs .debs/ (scripts/gpu-deps.sh download) next to the sources.
set -uo pipefail
out=${1:?usage: scripts/gpu-check.sh OUTDIR [full|quick|tests|bench|sanitize|profile|profile-b1|sass]}
mode=${2:-full}
case $mode in full | quick | tests | bench | sanitize | profile | profile-b1 | sass) ;; *)
  echo "gpu-check.sh: unknown MODE '$mode' (full, quick, tests, bench, sanitize, profile," \
    "profile-b1 or sass)" >&2
  exit 2
  ;;
esac
wants() { # wants PART: whether MODE includes PART (tests, bench, sanitize, profile, profile-b1, sass)
  case $mode:$1 in full:profile* | full:sass) return 1 ;;
  full:* | quick:tests | quick:bench | "$1:$1") return 0 ;;
  *) return 1 ;; esac
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.." || exit 1

table=()
failed=0
# step NAME SUMMARY_COMMAND -- COMMAND...: runs COMMAND into $out/NAME.log, then records
# its status, time and the one-line summary printed by SUMMARY_COMMAND (reads the log).
step() {
  local name=$1 summary=$2
  shift 3
  # STEPS (a regex of step names) runs only those steps besides the build's.
  if [[ -n ${STEPS:-} && ! $name =~ ^(deps|configure|build|$STEPS)$ ]]; then return 0; fi
  local start=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local line
  line=$(bash -c "$summary" <"$out/$name.log" 2>/dev/null | tail -1)
  table+=("$(printf '%-11s %-4s %5ss  %s' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" \
    $((SECONDS - start)) "$line")")
  [ $rc -eq 0 ] || failed=1
  return $rc
}

kernel_tests='CudaOpsTest.*:CudaAttentionTest.*:CudaAttentionWgmma*:CudaSamplingTest.*'
jobs=$(nproc)

step deps "tail -1" -- bash scripts/gpu-deps.sh unpack
# shellcheck disable=SC1091
source /tmp/deps/env.sh
export LD_LIBRARY_PATH=$DEPS_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! { step configure "grep 'CUDA backend'" -- cmake -S . -B build-gpu -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CUDA_ARCHITECTURES=90a -DCASCADE_CUDA=ON \
  -DCASCADE_BUILD_PYTHON=OFF -DNODE_EXECUTABLE="$(command -v node || echo /bin/false)" &&
  step build "tail -1" -- cmake --build build-gpu -j "$jobs" --target cascade_cuda_tests cascade; }; then
  printf '%s\n' "${table[@]}"
  exit 1
fi
cat "$out/deps.log" "$out/configure.log" >>"$out/build.log"
rm -f "$out/deps.log" "$out/configure.log"
nvidia-smi >>"$out/build.log" 2>&1

# Every GPU test; [measure] lines carry the errors each test measured.
if wants tests; then
  # transformers in bf16 on this GPU: references for CudaGoldenTest (1.2 GB a model, so
  # under /tmp rather than OUTDIR).
  step bf16_refs "tail -1" -- python3 tools/make_bf16_references.py --fixtures tests/fixtures \
    --out /tmp/bf16-references
  export CASCADE_BF16_REFERENCES=/tmp/bf16-references
  step ctest "grep -E 'tests passed|tests failed'" -- \
    ctest --test-dir build-gpu -L cuda --output-on-failure -V
  step timing "grep -c '\[timing\]'" -- env CASCADE_CUDA_TIMING=1 \
    build-gpu/tests/cascade_cuda_tests --gtest_filter='CudaTiming*'
fi
# B1-B7 on random weights (docs/BENCHMARKS.md): JSON and the B2 plot under OUTDIR.
# CASCADE_BENCH_ARGS adds flags (e.g. "--scenario B2,B4 --repeats 5"; default: all
# scenarios); CASCADE_B2_BATCHES replaces B2's batch sizes.
read -ra bench_args <<<"${CASCADE_BENCH_ARGS:-}"
wants bench &&
  step scenarios "grep -c 'ratio'" -- build-gpu/cascade bench scenarios --device cuda \
    --b2-batches "${CASCADE_B2_BATCHES:-1,8,16,32,64,128}" --cache-dir build-gpu/bench-models \
    --json "$out/scenarios.json" "${bench_args[@]}" &&
  step plot_b2 "echo $out/b2.svg" -- python3 tools/plot_b2.py "$out/scenarios.json" "$out/b2.svg"
if wants sanitize; then
  # memcheck also replays recorded decode steps (whole model: cuBLASLt included).
  step memcheck "grep 'ERROR SUMMARY'" -- timeout 300 compute-sanitizer --tool memcheck \
    --error-exitcode 1 build-gpu/tests/cascade_cuda_tests \
    --gtest_filter="$kernel_tests:CudaGraphTest.*"
  # Without the linear tests: racecheck reports hazards inside cuBLASLt's Hopper kernels
  # (nvjet_*, which synchronise through mbarriers it does not follow), and excluding those
  # kernels by name made it fail with an internal error. Every kernel of ours but the
  # elementwise add_bias_f32 is still covered.
  # The top-k / top-p test over 151,936-token rows takes minutes under racecheck;
  # CudaSamplingTest.CutsInsideRunsOfEqualLogitsAreTheHostCuts runs the same kernel paths
  # (greedy, temperature, top-k and top-p cuts, ties, draws) on 5,000-token rows.
  # Without CudaOpsTest.DecodeMlp* either (the experimental one-kernel MLP, off by default):
  # its 9-row case runs cuBLASLt (8 racecheck hazards; in nvjet_* when last read, 2026-12-01),
  # and under synccheck the tool's tracking of its barriers overflows ("Detected overflow of
  # tracked cuda::barrier structures") and the launch then fails (2026-12-03); memcheck
  # covers it.
  for tool in racecheck synccheck; do
    step "$tool" "grep -E 'RACECHECK SUMMARY|ERROR SUMMARY'" -- timeout 300 compute-sanitizer \
      --tool "$tool" --error-exitcode 1 build-gpu/tests/cascade_cuda_tests \
      --gtest_filter="$kernel_tests:-CudaOpsTest.Linear*:CudaOpsTest.DecodeMlp*:CudaSamplingTest.TopKAndTopPDrawsAreTheHostDraws"
  done
fi
if wants profile; then
  bench=(build-gpu/cascade bench scenarios --device cuda --cache-dir build-gpu/bench-models)
  # Host time per engine phase (one table per engine: B4 cached, B4 cold, B6; then B1).
  step host "grep -c 'step profile'" -- env CASCADE_PROFILE=1 "${bench[@]}" --scenario B4,B6 \
    --repeats 3
  step host_b1 "grep -c 'step profile'" -- env CASCADE_PROFILE=1 "${bench[@]}" --scenario B1 \
    --repeats 1
  # Kernel durations in launch order, cut at the embedding kernel: a forward pass is two
  # segments, its layers (from the token embedding) and its logits (the rows gathered by
  # the same kernel, final norm, LM head, sampling). B4: 0/1 the chunks' prefill, 2/3 its
  # second token (eager, before that step's graph is recorded; replays are not listed
  # without --graph-profiling node), 4/5 the cached request (64 rows), 6/7 the cold
  # engine's warm-up, 8/9 the cold request. B6: a few decode steps (graph nodes) well
  # after the start.
  ncu_time=(timeout 240 ncu --csv --metrics gpu__time_duration.sum)
  step b4_kernels "grep -c segment" -- bash -c "${ncu_time[*]} ${bench[*]} --scenario B4 \
    --repeats 1 >$out/b4-kernels.csv && python3 tools/ncu_summary.py $out/b4-kernels.csv \
    --split embedding_kernel && for s in 4 8; do python3 tools/ncu_summary.py \
    $out/b4-kernels.csv --split embedding_kernel --segments \$s --top 15; done"
  step b6_kernels "grep -c segment" -- bash -c "${ncu_time[*]} --graph-profiling node \
    --launch-skip 4000 --launch-count 700 ${bench[*]} --scenario B6 --repeats 1 \
    >$out/b6-kernels.csv && python3 tools/ncu_summary.py $out/b6-kernels.csv \
    --split embedding_kernel --segments 1 --top 20"
  # Everything ncu knows of one launch of the wgmma kernel (the default: K and V by TMA) on
  # B2's shared chunks, and where its warps wait, by SASS instruction (wgmma-b2-source.csv).
  step wgmma_ncu "grep -c 'Section'" -- bash -c "CASCADE_CUDA_TIMING=1 timeout 240 ncu --set full \
    -k regex:attention_wgmma --launch-count 1 -f -o $out/wgmma-b2 \
    build-gpu/tests/cascade_cuda_tests --gtest_filter=CudaTiming.AttentionB2SharedChunks && \
    ncu --import $out/wgmma-b2.ncu-rep --page details"
  step wgmma_source "grep -c executed" -- bash -c "ncu --import $out/wgmma-b2.ncu-rep \
    --page source --csv --print-source sass >$out/wgmma-b2-source.csv && \
    python3 tools/ncu_source_summary.py $out/wgmma-b2-source.csv"
  # The same for the CUDA-core kernel on decode rows (B1's decode: 75 % of its step) and for
  # B6's one-row GEMVs (~60 % of its step), at the GPU's own clocks: memory throughput, stall
  # reasons, occupancy.
  # The decode kernel: the first launch of the B1-like case (each case of the timing test
  # launches 103 times), a lane per key (KL 1) and 8 lanes per key (KL 8).
  for lanes in 1 8; do
    step "decode_ncu_$lanes" "grep -c 'Section'" -- bash -c "CASCADE_CUDA_TIMING=1 timeout 240 \
      ncu --set full --clock-control none --kernel-name-base mangled \
      -k regex:attention_task_kernelILi128ELi4ELi4ELi${lanes}E --launch-skip 103 --launch-count 1 \
      -f -o $out/decode-b1-kl$lanes build-gpu/tests/cascade_cuda_tests \
      --gtest_filter=CudaTiming.AttentionDecodePrefillAndSharedLevel \
      && ncu --import $out/decode-b1-kl$lanes.ncu-rep --page details"
  done
  step gemv_ncu "grep -c 'Section'" -- bash -c "timeout 240 ncu --set full --clock-control none \
    --graph-profiling node -k regex:gemv_kernel --launch-skip 2000 --launch-count 5 -f \
    -o $out/gemv-b6 ${bench[*]} --scenario B6 --repeats 1 >/dev/null && \
    ncu --import $out/gemv-b6.ncu-rep --page details"
  # B4's cached step (64 rows over 8 cached chunks): one launch of its wgmma attention kernel
  # (layer 5: the cached request's launches follow the chunks' second token's 28) with its
  # stall samples per SASS instruction, and one of its merge kernel (the merges of the
  # chunks' prefill and second token come first: 56).
  step b4_attention_ncu "grep -c executed" -- bash -c "timeout 240 ncu --set full \
    --clock-control none -k regex:attention_wgmma_tma_kernel --launch-skip 33 --launch-count 1 \
    -f -o $out/attention-b4 ${bench[*]} --scenario B4 --repeats 1 >/dev/null && \
    ncu --import $out/attention-b4.ncu-rep --page details && \
    ncu --import $out/attention-b4.ncu-rep --page source --csv --print-source sass \
    >$out/attention-b4-source.csv && \
    python3 tools/ncu_source_summary.py $out/attention-b4-source.csv --top 30"
  step b4_merge_ncu "grep -c 'Section'" -- bash -c "timeout 240 ncu --set full \
    --clock-control none -k regex:attention_merge_kernel --launch-skip 61 --launch-count 1 \
    -f -o $out/merge-b4 ${bench[*]} --scenario B4 --repeats 1 >/dev/null && \
    ncu --import $out/merge-b4.ncu-rep --page details"
  # B4's cached first token inside one run after B1-B3 (2.64 ms in session 36's run of
  # B1-B6) against B4 in a fresh process right after it (the GPU as they left it) and alone
  # (2.39 ms): process state (the engines' host phases, CASCADE_PROFILE's tables) or the
  # GPU's state (clocks, temperature: nvidia-smi every 100 ms in b4_clocks.csv).
  step b4_after_others "grep -cE 'cached chunks'" -- bash -c "nvidia-smi \
    --query-gpu=timestamp,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv \
    -lms 100 >$out/b4_clocks.csv & smi=\$!; date +%T.%N; CASCADE_PROFILE=1 ${bench[*]} \
    --scenario B1,B2,B3,B4 --b2-batches 128 --repeats 3; date +%T.%N; CASCADE_PROFILE=1 \
    ${bench[*]} --scenario B4 --repeats 5; date +%T.%N; kill \$smi"
  # B6's attention (8.8 µs per layer over ~45 keys: a chain of set-up latencies).
  step b6_attention_ncu "grep -c 'Section'" -- bash -c "timeout 240 ncu --set full \
    --clock-control none --graph-profiling node --kernel-name-base mangled \
    -k regex:attention_task_kernelILi64ELi8ELi4E --launch-skip 500 --launch-count 1 -f \
    -o $out/attention-b6 ${bench[*]} --scenario B6 --repeats 1 >/dev/null && \
    ncu --import $out/attention-b6.ncu-rep --page details"
fi
if wants sass; then
  # The kernels' machine code as this build made it; per kernel its loops, innermost first
  # (the wgmma kernel's KV-block loop, the small-tile kernel's 32-token step, ...).
  objects=build-gpu/CMakeFiles/cascade_ops_cuda.dir/src/ops/cuda
  for unit in cuda_attention_wgmma cuda_attention cuda_gemv; do
    cuobjdump --dump-sass "$objects/$unit.cu.o" >"$out/$unit.sass" 2>&1
  done
  step sass_wgmma "grep -c loop" -- python3 tools/sass_mix.py "$out/cuda_attention_wgmma.sass" \
    --function 'attention_wgmma_tma_kernelILi128E'
  step sass_tasks "grep -c loop" -- python3 tools/sass_mix.py "$out/cuda_attention.sass" \
    --function 'attention_task_kernelILi128ELi4ELi4E|attention_merge_kernelILi128E'
  step sass_gemv "grep -c loop" -- python3 tools/sass_mix.py "$out/cuda_gemv.sass"
fi
if wants profile-b1; then
  bench=(build-gpu/cascade bench scenarios --device cuda --cache-dir build-gpu/bench-models
    --scenario B1 --repeats 1)
  step host_b1 "grep -c 'step profile'" -- env CASCADE_PROFILE=1 "${bench[@]}"
  # Launch counts (graph nodes count one each): the warm-up takes ~1,300, then come the
  # ~9 prefill steps of up to 16,384 tokens (eager, ~400 kernels each), then decode steps
  # of ~300 kernels at batch 256. Each window's kernels by name, summed; the clocks left
  # as they are (METHOD.md of the device tool).
  ncu_time=(timeout 300 ncu --csv --clock-control none --metrics gpu__time_duration.sum
    --graph-profiling node)
  step b1_decode "grep -c segment" -- bash -c "${ncu_time[*]} --launch-skip 8000 \
    --launch-count 3000 ${bench[*]} >$out/b1-decode.csv && python3 tools/ncu_summary.py \
    $out/b1-decode.csv --split embedding_kernel --top 20"
  step b1_prefill "grep -c segment" -- bash -c "${ncu_time[*]} --launch-skip 1500 \
    --launch-count 1500 ${bench[*]} >$out/b1-prefill.csv && python3 tools/ncu_summary.py \
    $out/b1-prefill.csv --split embedding_kernel --top 20"
fi
echo
echo "== measured (max |diff| / max |ref| unless named otherwise) =="
grep -h '\[measure\]' "$out/ctest.log" 2>/dev/null | sed 's/^[0-9]*: //' | sort -u
echo "== timings =="
grep -h '\[timing\]' "$out/timing.log" 2>/dev/null
echo "== scenarios =="
grep -hE '^(B[0-9]|  )' "$out/scenarios.log" 2>/dev/null
echo "== summary (logs in $out) =="
printf '%s\n' "${table[@]}"
exit $failed
