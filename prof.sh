out=/tmp/p; mkdir -p $out
STEPS='b6_kernels' bash scripts/gpu-check.sh $out/on profile > $out/on.log 2>&1
CASCADE_DECODE_MLP=0 STEPS='b6_kernels' bash scripts/gpu-check.sh $out/off profile > $out/off.log 2>&1
source /tmp/deps/env.sh; export LD_LIBRARY_PATH=$DEPS_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
bench="build-gpu/cascade bench scenarios --device cuda --cache-dir build-gpu/bench-models --scenario B6 --repeats 3"
for r in 1 2; do for v in "0 0" "1 0" "1 4096" "1 1024"; do set -- $v
  echo "== MLP=$1 piece=$2 r$r" >> $out/bench.txt
  CASCADE_DECODE_MLP=$1 CASCADE_DECODE_MLP_COPY_BYTES=$2 timeout 120 $bench 2>&1 | grep -E "decode tok/s" >> $out/bench.txt
done; done
timeout 150 ncu --set full --clock-control none --graph-profiling node -k regex:decode_mlp --launch-skip 200 --launch-count 1 -f -o $out/mlp $bench > $out/ncu-run.log 2>&1
ncu --import $out/mlp.ncu-rep --page details > $out/mlp-details.txt 2>&1
rm -f $out/mlp.ncu-rep
