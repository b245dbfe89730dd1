#include "frontend/cli_flags.h"

#include <CLI/CLI.hpp>

namespace cascade {

void add_engine_flags(CLI::App& cmd, EngineConfig& c) {
  cmd.add_option("--max-num-seqs", c.max_num_seqs, "sequences running at once")
      ->capture_default_str();
  cmd.add_option("--max-num-batched-tokens", c.max_num_batched_tokens, "tokens per step")
      ->capture_default_str();
  cmd.add_option("--max-model-len", c.max_model_len, "prompt + output tokens per sequence")
      ->capture_default_str();
  cmd.add_option("--page-size", c.page_size, "tokens per KV page")->capture_default_str();
  cmd.add_option("--num-kv-pages", c.num_kv_pages, "KV pages (0: from --kv-cache-bytes)");
  cmd.add_option("--kv-cache-bytes", c.kv_cache_memory_bytes, "KV cache memory (0: default)");
  cmd.add_flag("!--no-prefix-caching", c.enable_prefix_caching, "disable prefix caching");
  cmd.add_flag("!--no-chunked-prefill", c.enable_chunked_prefill,
               "prefill each prompt in one step");
  cmd.add_option("--device", c.device, "auto, cpu or cuda")->capture_default_str();
  cmd.add_option("--threads", c.num_threads, "CPU threads (0: all cores)");
  cmd.add_option("--tensor-parallel-size", c.tensor_parallel_size,
                 "GPUs to split the model over (CPU: threads, for testing only)")
      ->capture_default_str();
  cmd.add_option("--gpu-memory-utilization", c.gpu_memory_utilization,
                 "share of GPU memory to use (CUDA)")
      ->capture_default_str();
  cmd.add_flag("--enforce-eager", c.enforce_eager, "no CUDA graphs for decode steps");
  cmd.add_flag("!--no-async-scheduling", c.async_scheduling,
               "wait for each step before scheduling the next");
  // Compositional context caching (the seed's names).
  cmd.add_option_function<std::string>(
         "--cascade", [&c](const std::string& v) { c.enable_cascade_attention = v == "on"; },
         "cascade attention over shared chunks: on or off (default off)")
      ->check(CLI::IsMember({"on", "off"}))
      ->type_name("on|off");
  cmd.add_option_function<std::string>(
         "--chunk-mode",
         [&c](const std::string& v) {
           c.chunk_mode = v == "exact" ? ChunkMode::Exact : ChunkMode::Compositional;
         },
         "how chunks are keyed: exact or compositional (default compositional)")
      ->check(CLI::IsMember({"exact", "compositional"}))
      ->type_name("MODE");
  cmd.add_option("--chunk-page-ratio", c.chunk_page_ratio, "max share of KV pages for chunks")
      ->capture_default_str();
  cmd.add_option("--max-cascade-levels", c.max_cascade_levels, "shared levels per sequence")
      ->capture_default_str();
  cmd.add_option("--cascade-min-shared-tokens", c.cascade_min_shared_tokens,
                 "shorter shared levels are read per sequence (-1: the backend's default)")
      ->capture_default_str();
  cmd.add_option("--chunk-registry-size", c.chunk_registry_size, "chunks kept at most")
      ->capture_default_str();
}

void add_sampling_flags(CLI::App& cmd, SamplingParams& p) {
  cmd.add_option("--temperature", p.temperature, "0 = greedy")->capture_default_str();
  cmd.add_option("--top-k", p.top_k, "0 = off")->capture_default_str();
  cmd.add_option("--top-p", p.top_p, "nucleus mass in (0, 1]")->capture_default_str();
  cmd.add_option_function<uint64_t>(
      "--seed", [&p](uint64_t s) { p.seed = s; }, "per-request seed");
  cmd.add_option("--max-tokens", p.max_tokens, "tokens to generate at most")->capture_default_str();
  cmd.add_flag("--ignore-eos", p.ignore_eos, "keep generating after EOS");
  cmd.add_option("--stop", p.stop, "stop string (repeatable; not included in the output)");
  cmd.add_option("--stop-token-id", p.stop_token_ids, "stop token id (repeatable)");
}

}  // namespace cascade
