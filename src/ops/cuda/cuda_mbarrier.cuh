// Shared-memory barriers (mbarrier), named barriers and register hand-over between
// warpgroups, for kernels whose warps take roles (one warpgroup copies, others compute)
// and hand shared memory over without stopping the whole block. sm_90 device code
// (setmaxnreg: sm_90a).
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_device_math.cuh"

namespace cascade::cuda {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900

// Before any use, by one thread; a block-wide barrier then publishes it.
__device__ __forceinline__ void mbarrier_init(uint64_t* bar, int arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(arrivals)
               : "memory");
}

// One of the phase's expected arrivals (release: this thread's earlier writes are seen by
// whoever waits for the phase).
__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
  asm volatile(
      "{\n.reg .b64 state;\nmbarrier.arrive.release.cta.shared::cta.b64 state, [%0];\n}\n" ::"r"(
          shared_address(bar))
      : "memory");
}

// One of the phase's expected arrivals, made once every cp.async this thread has issued so
// far has landed (the barrier's expected count includes it: .noinc).
__device__ __forceinline__ void mbarrier_arrive_when_copied(uint64_t* bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(shared_address(bar))
               : "memory");
}

// After mbarrier_init, before a block-wide barrier: makes the initialized barriers visible
// to the asynchronous proxy (bulk copies complete their transactions on them).
__device__ __forceinline__ void mbarrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

// One of the phase's expected arrivals, which also expects `bytes` more of bulk copies
// (bulk_copy_to_shared) to land before the phase completes.
__device__ __forceinline__ void mbarrier_arrive_expect_bytes(uint64_t* bar, uint32_t bytes) {
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_address(bar)),
      "r"(bytes)
      : "memory");
}

// `bytes` (a multiple of 16; both addresses 16-byte aligned) from global to this block's
// shared memory by the SM's copy engine, counted on `bar` as they land.
__device__ __forceinline__ void bulk_copy_to_shared(void* dst, const void* src, uint32_t bytes,
                                                    uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::
          "r"(shared_address(dst)),
      "l"(src), "r"(bytes), "r"(shared_address(bar))
      : "memory");
}

// Box (c0, c1, c2) of the 3-D tensor `map` (innermost coordinate first; a CUtensorMap
// that is a __grid_constant__ kernel parameter) from global to this block's shared memory
// by the copy engine, laid out (and swizzled) as the map says, counted on `bar` as it lands.
__device__ __forceinline__ void tensor_box_to_shared(void* dst, const void* map, int c0, int c1,
                                                     int c2, uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(shared_address(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(shared_address(bar))
      : "memory");
}

// Box (c0, c1) of the 2-D tensor `map` (innermost coordinate first; a __grid_constant__
// CUtensorMap), as tensor_box_to_shared does for 3-D ones.
__device__ __forceinline__ void tensor_box_2d_to_shared(void* dst, const void* map, int c0, int c1,
                                                        uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(shared_address(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(shared_address(bar))
      : "memory");
}

// Waits until the phase of parity `parity` has completed (acquire). A barrier starts in
// phase 0: waiting for parity 1 returns at once, which lets a producer treat every slot as
// free before its first round.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done = 0;
  while (!done) {
    asm volatile(
        "{\n.reg .pred p;\n"
        "mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(shared_address(bar)), "r"(parity)
        : "memory");
  }
}

// Barrier `id` (1..15; 0 is __syncthreads) among `threads` threads, whole warps.
__device__ __forceinline__ void named_barrier(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
// Counts the calling warps at barrier `id` without waiting: the other `threads` meet them
// there with named_barrier.
__device__ __forceinline__ void named_barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

#endif

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// The calling warpgroup gives registers back to the SM's pool (down to COUNT per thread) or
// takes more (up to COUNT), so that a copying warpgroup needs few and computing ones get
// many; every thread of the warpgroup executes it. COUNT: a multiple of 8 in [24, 256].
template <int COUNT>
__device__ __forceinline__ void release_registers_to() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(COUNT));
}
template <int COUNT>
__device__ __forceinline__ void claim_registers_up_to() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(COUNT));
}

#endif

}  // namespace cascade::cuda
