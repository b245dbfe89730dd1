// LLM(model, **kwargs): every EngineConfig field by its name (the seed's and nano-vllm's).
#include "base/error.h"
#include "bindings.h"
#include "keyword_fields.h"

namespace cascade::python {
namespace {

ChunkMode chunk_mode_from(py::handle value) {
  const std::string name = py::cast<std::string>(value);
  if (name == chunk_mode_name(ChunkMode::Exact)) return ChunkMode::Exact;
  if (name == chunk_mode_name(ChunkMode::Compositional)) return ChunkMode::Compositional;
  throw Error("chunk_mode must be 'exact' or 'compositional' (got '" + name + "')");
}

const KeywordFields<EngineConfig>& engine_config_fields() {
  using C = EngineConfig;
  static const KeywordFields<C> fields = [] {
    KeywordFields<C> f("LLM");
    f.member("max_num_seqs", &C::max_num_seqs, "an int")
        .member("max_num_batched_tokens", &C::max_num_batched_tokens, "an int")
        .member("max_model_len", &C::max_model_len, "an int")
        .member("enable_chunked_prefill", &C::enable_chunked_prefill, "a bool")
        .member("page_size", &C::page_size, "an int")
        .member("num_kv_pages", &C::num_kv_pages, "an int")
        .member("kv_cache_memory_bytes", &C::kv_cache_memory_bytes, "an int")
        .member("enable_prefix_caching", &C::enable_prefix_caching, "a bool")
        .member("device", &C::device, "a str ('auto', 'cpu' or 'cuda')")
        .member("num_threads", &C::num_threads, "an int")
        .member("tensor_parallel_size", &C::tensor_parallel_size, "an int")
        .member("gpu_memory_utilization", &C::gpu_memory_utilization, "a float")
        .member("enforce_eager", &C::enforce_eager, "a bool")
        .member("async_scheduling", &C::async_scheduling, "a bool")
        .member("enable_cascade_attention", &C::enable_cascade_attention, "a bool")
        .member("chunk_page_ratio", &C::chunk_page_ratio, "a float")
        .member("max_cascade_levels", &C::max_cascade_levels, "an int")
        .member("cascade_min_shared_tokens", &C::cascade_min_shared_tokens, "an int")
        .member("chunk_registry_size", &C::chunk_registry_size, "an int")
        .custom(
            "chunk_mode", [](C& c, py::handle v) { c.chunk_mode = chunk_mode_from(v); },
            [](const C& c) { return py::cast(chunk_mode_name(c.chunk_mode)); },
            "a str ('exact' or 'compositional')");
    return f;
  }();
  return fields;
}

}  // namespace

EngineConfig engine_config_from_kwargs(const py::kwargs& kwargs) {
  EngineConfig config;
  engine_config_fields().set(config, kwargs);
  config.validate();
  return config;
}

}  // namespace cascade::python
