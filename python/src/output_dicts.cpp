// What Python gets back: plain dicts, as nano-vllm returns {"text", "token_ids"}.
#include "bindings.h"

#include <pybind11/stl.h>

namespace cascade::python {

py::dict output_dict(const RequestOutput& o) {
  py::dict d;
  d["text"] = o.text;
  d["token_ids"] = o.token_ids;
  d["reasoning_content"] = o.reasoning_content;
  d["content"] = o.content;
  d["finish_reason"] = o.finished() ? py::object(py::str(finish_reason_name(o.finish_reason)))
                                    : py::object(py::none());
  d["num_prompt_tokens"] = o.num_prompt_tokens;
  d["num_cached_tokens"] = o.num_cached_tokens;
  d["request_id"] = o.request_id;
  return d;
}

// step() outputs also carry what the step added.
py::dict delta_output_dict(const RequestOutput& o) {
  py::dict d = output_dict(o);
  d["text_delta"] = o.text_delta;
  d["token_ids_delta"] = o.token_ids_delta;
  d["reasoning_content_delta"] = o.reasoning_content_delta;
  d["content_delta"] = o.content_delta;
  return d;
}

py::dict stats_dict(const EngineStats& s) {
  py::dict d;
  d["steps"] = s.steps;
  d["prefill_tokens"] = s.prefill_tokens;
  d["decode_tokens"] = s.decode_tokens;
  d["prefix_cache_queried_tokens"] = s.prefix_cache_queried_tokens;
  d["prefix_cache_hit_tokens"] = s.prefix_cache_hit_tokens;
  d["preemptions"] = s.preemptions;
  d["num_kv_pages"] = s.num_kv_pages;
  d["num_free_kv_pages"] = s.num_free_kv_pages;
  d["page_size"] = s.page_size;
  d["chunk_entries"] = s.chunk_entries;
  d["chunk_pages"] = s.chunk_pages;
  d["chunk_bytes"] = s.chunk_bytes;
  d["chunk_hits"] = s.chunk_hits;
  d["chunk_misses"] = s.chunk_misses;
  d["chunk_evictions"] = s.chunk_evictions;
  d["chunk_tokens_reused"] = s.chunk_tokens_reused;
  d["chunk_tokens_computed"] = s.chunk_tokens_computed;
  return d;
}

py::dict chunk_info_dict(const ChunkInfo& c) {
  py::dict d;
  d["id"] = c.id;
  d["kind"] = chunk_kind_name(c.kind);
  d["num_tokens"] = c.num_tokens;
  d["uses"] = c.uses;
  return d;
}

}  // namespace cascade::python
