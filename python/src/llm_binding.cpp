// LLM: nano-vllm's class (LLM(model, **config), generate(prompts, sampling_params)) plus
// cascade's streaming calls and chunk registry. The C++ LLM is single-threaded: each call
// holds the object's lock, and long calls let other Python threads run meanwhile.
#include <pybind11/stl.h>

#include <mutex>

#include "bindings.h"
#include "frontend/progress_bar.h"
#include "text/tokenizer.h"

namespace cascade::python {
namespace {

class PyLLM {
 public:
  PyLLM(const std::string& model, const py::kwargs& kwargs)
      : config_(engine_config_from_kwargs(kwargs)) {
    py::gil_scoped_release unlocked;
    llm_ = std::make_unique<LLM>(model, config_);
  }

  // Runs fn(llm) under the object's lock with the GIL released.
  template <class Fn>
  auto locked(Fn fn) {
    py::gil_scoped_release unlocked;
    std::lock_guard lock(mutex_);
    return fn(*llm_);
  }

  const EngineConfig& config() const { return config_; }

 private:
  EngineConfig config_;
  std::mutex mutex_;
  std::unique_ptr<LLM> llm_;
};

py::list output_list(const std::vector<RequestOutput>& outputs, bool deltas) {
  py::list list;
  for (const auto& o : outputs) list.append(deltas ? delta_output_dict(o) : output_dict(o));
  return list;
}

std::vector<Chunk> to_chunk_list(py::handle value) {
  std::vector<Chunk> chunks;
  if (value.is_none()) return chunks;
  size_t i = 0;
  for (py::handle item : value)
    chunks.push_back(to_chunk(item, "prefix[" + std::to_string(i++) + "]"));
  return chunks;
}

}  // namespace

void bind_llm(py::module_& m) {
  py::class_<PyLLM>(m, "LLM", "An inference engine over one Hugging Face model folder.")
      .def(py::init<const std::string&, const py::kwargs&>(), py::arg("model"),
           "LLM(model, **config): every EngineConfig field is a keyword (max_num_seqs, "
           "enable_cascade_attention, chunk_page_ratio, max_cascade_levels, "
           "chunk_registry_size, chunk_mode, ...); others raise TypeError.")
      .def(
          "generate",
          [](PyLLM& self, py::handle prompts, py::handle sampling_params, bool use_tqdm) {
            const std::vector<Prompt> p = to_prompts(prompts);
            const std::vector<SamplingParams> s = to_sampling_params(sampling_params, p.size());
            const auto outputs = self.locked([&](LLM& llm) {
              ProgressBar bar(use_tqdm);
              return llm.generate(p, s, [&bar](const GenerateProgress& g) { bar.update(g); });
            });
            return output_list(outputs, false);
          },
          py::arg("prompts"), py::arg("sampling_params") = py::none(), py::arg("use_tqdm") = false,
          "Runs every prompt to completion; a list of dicts (text, token_ids, "
          "reasoning_content, content, finish_reason, ...) in input order.")
      .def(
          "add_request",
          [](PyLLM& self, py::handle prompt, py::handle sampling_params) {
            const Prompt p = to_prompt(prompt, "prompt");
            const SamplingParams s = to_sampling_params(sampling_params, 1).front();
            return self.locked([&](LLM& llm) { return llm.add_request(p, s); });
          },
          py::arg("prompt"), py::arg("sampling_params") = py::none(),
          "Queues a request for step(); returns its id.")
      .def(
          "step",
          [](PyLLM& self) {
            return output_list(self.locked([](LLM& llm) { return llm.step(); }), true);
          },
          "Advances every request one step; dicts of those that changed (with *_delta).")
      .def(
          "abort",
          [](PyLLM& self, int64_t id) {
            return self.locked([id](LLM& llm) { return llm.abort(id); });
          },
          py::arg("request_id"))
      .def("has_unfinished",
           [](PyLLM& self) { return self.locked([](LLM& llm) { return llm.has_unfinished(); }); })
      .def(
          "add_chunk",
          [](PyLLM& self, py::handle chunk, py::handle prefix, const std::string& framing) {
            const Chunk c = to_chunk(chunk, "chunk");
            const std::vector<Chunk> p = to_chunk_list(prefix);
            const Prompt::Framing f = to_framing(framing);
            return self.locked([&](LLM& llm) { return llm.add_chunk(c, p, f); });
          },
          py::arg("chunk"), py::arg("prefix") = py::none(), py::arg("framing") = "chat",
          "Registers a chunk and computes its KV after `prefix` (its system chunks); returns "
          "its id (64 hex digits) for Chunk.ref.")
      .def(
          "release_chunk",
          [](PyLLM& self, const std::string& id) {
            return self.locked([&id](LLM& llm) { return llm.release_chunk(id); });
          },
          py::arg("id"))
      .def("list_chunks",
           [](PyLLM& self) {
             py::list list;
             for (const auto& c : self.locked([](LLM& llm) { return llm.list_chunks(); })) {
               list.append(chunk_info_dict(c));
             }
             return list;
           })
      .def(
          "stats",
          [](PyLLM& self) { return stats_dict(self.locked([](LLM& llm) { return llm.stats(); })); })
      .def(
          "encode",
          [](PyLLM& self, const std::string& text) {
            return self.locked([&text](LLM& llm) { return llm.tokenizer().encode(text); });
          },
          py::arg("text"))
      .def(
          "decode",
          [](PyLLM& self, const std::vector<int32_t>& ids, bool skip_special_tokens) {
            return self.locked(
                [&](LLM& llm) { return llm.tokenizer().decode(ids, skip_special_tokens); });
          },
          py::arg("token_ids"), py::arg("skip_special_tokens") = false);
}

}  // namespace cascade::python
