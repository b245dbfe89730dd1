// A measuring tool, not an op: a chain of dependent row-normalizing kernels, each hand-off
// made one of three ways, so that CudaTiming.DependentKernelChain can say what a kernel
// boundary costs and how much of it the hand-off is. B6's decode step is ~120 dependent
// kernels, about a third of its time in boundaries (H200, 2026-12-03); whether a hand-off
// by flags in memory would beat griddepcontrol.wait decides whether the decode kernels
// should take it. Measured (H200, 2026-12-03): no. Per kernel, 1 row x 896: at exit 2.2 µs,
// released at start 2.0, flags 2.4; 256 x 1,024: 2.3, 2.6, 3.7.
//
// Every link: y[r, :] = x[r, :] · rsqrt(mean(x[r, :]²) + eps), one block of kThreads per row,
// bf16 in and out, f32 sums. Links alternate a -> b, b -> a.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ uint32_t load_acquire(const uint32_t* p) {
  uint32_t v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// state: [links + 1] u32, zeros before the first launch: state[i] counts the blocks of link
// i that finished (over all runs of the chain), state[links] the chain's finished runs.
struct ChainLink {
  const bf16* x;
  bf16* y;
  int64_t dim;
  ChainHandOff hand_off;
  uint32_t* state;
  int link, links;
};

__global__ void __launch_bounds__(kThreads) chain_link_kernel(const ChainLink a) {
  const int64_t row = blockIdx.x;
  const uint32_t blocks = gridDim.x;
  if (a.hand_off != ChainHandOff::kAtExit) release_dependents();
  uint32_t run = 0;
  if (a.hand_off == ChainHandOff::kFlags) {
    // This run's number, read before the last link can raise it (it does so only after
    // every block of every link has finished, below).
    if (threadIdx.x == 0) run = load_acquire(&a.state[a.links]);
    if (a.link > 0 && threadIdx.x == 0) {
      const uint32_t target = (run + 1) * blocks;
      while (load_acquire(&a.state[a.link - 1]) < target) {
      }
    }
    __syncthreads();
  } else {
    wait_prior_grids();
  }
  const bf16* x = a.x + row * a.dim;
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < a.dim; i += kThreads) {
    // By flags the row may sit stale in this SM's L1: read it from L2.
    const float v = __bfloat162float(__ldcg(x + i));
    sum_sq += v * v;
  }
  __shared__ float warp_sums[kWarps];
  sum_sq = warp_sum(sum_sq);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum_sq;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) total += warp_sums[w];
  const float inv = rsqrtf(total / static_cast<float>(a.dim) + 1e-6f);
  for (int64_t i = threadIdx.x; i < a.dim; i += kThreads) {
    a.y[row * a.dim + i] = __float2bfloat16(__bfloat162float(__ldcg(x + i)) * inv);
  }
  if (a.hand_off != ChainHandOff::kFlags) return;
  __syncthreads();
  if (threadIdx.x != 0) return;
  __threadfence();  // the row's stores before the count
  const uint32_t finished = atomicAdd(&a.state[a.link], 1u) + 1;
  // The chain's last block of its last link ends the run.
  if (a.link == a.links - 1 && finished == (run + 1) * blocks) {
    atomicAdd(&a.state[a.links], 1u);
  }
}

}  // namespace

void chain_probe(ChainHandOff hand_off, bf16* a, bf16* b, int64_t rows, int64_t dim, int links,
                 uint32_t* state, cudaStream_t stream) {
  for (int link = 0; link < links; ++link) {
    const bool forward = link % 2 == 0;
    const ChainLink args{forward ? a : b, forward ? b : a, dim, hand_off, state, link, links};
    launch("chain_link_kernel", chain_link_kernel, static_cast<unsigned>(rows), kThreads, 0, stream,
           args);
    CASCADE_CUDA_CHECK_LAUNCH("chain_link_kernel");
  }
}

}  // namespace cascade::cuda
