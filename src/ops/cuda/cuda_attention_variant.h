// Which kernel runs attention's large tiles on the GPU. Host-only (no CUDA headers), so
// tests can switch it.
#pragma once

#include <cstdint>

namespace cascade::cuda {

// The wgmma kernel (cuda_attention_wgmma.cu) runs them wherever it is available (a build
// for sm_90a on a GPU of compute capability 9.0), the mma.sync kernel elsewhere.
// CASCADE_ATTENTION_KERNEL in the environment when a CUDA backend is created chooses
// (mma or wgmma; anything else, or wgmma where it is not available, is an Error), as does
// set_attention_wgmma.
bool attention_wgmma_available();
bool attention_wgmma_enabled();
// Throws an Error when asked for a kernel the build lacks.
void set_attention_wgmma(bool on);
// Thread blocks of the wgmma kernel (as set_attention_wgmma_tma and
// set_attention_wgmma_pipelined choose it) resident at once on one SM for head_dim d; 0
// where it does not run (not enabled, or no kernel for d).
int attention_wgmma_blocks_per_sm(int d);
// The wgmma kernels (the default and the warp-specialized one) fetch K and V with the
// copy engine (TMA) where pages hold whole 16-token boxes (the default); off
// (CASCADE_ATTENTION_KERNEL=wgmma-cp-async) their threads copy them with cp.async, as
// they do for other page sizes.
void set_attention_wgmma_tma(bool on);
// EXPERIMENTAL (CASCADE_ATTENTION_KERNEL=wgmma-pipelined): the wgmma kernel with each KV
// block's softmax overlapping the previous block's P · V (K and V by the copy engine in
// three stages where set_attention_wgmma_tma allows, else by cp.async); on implies
// set_attention_wgmma.
void set_attention_wgmma_pipelined(bool on);
// The warp-specialized wgmma kernel (one warpgroup copying KV for two computing ones, on
// tiles of 128 flat rows) runs the large tiles of steps with at least this many query rows
// (default 4096; 0: every step; -1: none), the one-warpgroup wgmma kernel those of the
// others. CASCADE_ATTENTION_WS_MIN_ROWS sets it (-1 or more), and
// CASCADE_ATTENTION_KERNEL=wgmma-ws sets 0. Only where the wgmma kernels run.
int attention_wgmma_ws_min_rows();
void set_attention_wgmma_ws_min_rows(int rows);
// Whether a step of `rows` query rows runs its large tiles on the warp-specialized kernel.
bool attention_wgmma_ws_for(int64_t rows);
// EXPERIMENTAL (CASCADE_ATTENTION_WS_PINGPONG=1; unmeasured): the warp-specialized kernel's
// two computing warpgroups take turns issuing their wgmmas (FlashAttention-3's ping-pong),
// where it fetches K and V by TMA.
void set_attention_wgmma_ws_pingpong(bool on);
// For tests: at most this many thread blocks per kv head (0: one per SM, the default), so
// that each block runs many work items one after another.
void set_attention_wgmma_ws_blocks_per_head(int blocks);

}  // namespace cascade::cuda
