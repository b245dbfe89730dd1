// Chunk and Prompt, and what generate() accepts as a prompt:
//   "text"                                   a plain prompt
//   [1, 2, 3]                                token ids
//   Prompt(chunks=[...], text="...")          a composed prompt
//   {"chunks": [...], "prompt": "..."}        the same as a dict (also "prompt_token_ids",
//                                            "framing", "enable_thinking")
// In chunk lists a str is a context chunk; Chunk.system(...) / Chunk.ref(id) are the others.
#include "base/error.h"
#include "bindings.h"
#include "frontend/document_chunk.h"
#include "keyword_fields.h"

namespace cascade::python {
namespace {

ChunkKind kind_from(const std::string& name) {
  if (name == chunk_kind_name(ChunkKind::System)) return ChunkKind::System;
  if (name == chunk_kind_name(ChunkKind::Context)) return ChunkKind::Context;
  throw Error("chunk kind must be 'system' or 'context' (got '" + name + "')");
}

const char* framing_name(Prompt::Framing framing) {
  return framing == Prompt::Framing::Chat ? "chat" : "raw";
}

std::vector<Chunk> to_chunks(py::handle value, const std::string& where) {
  if (value.is_none()) return {};
  if (!py::isinstance<py::list>(value) && !py::isinstance<py::tuple>(value)) {
    throw py::type_error(where + " must be a list of chunks");
  }
  std::vector<Chunk> chunks;
  size_t i = 0;
  for (py::handle item : value)
    chunks.push_back(to_chunk(item, where + "[" + std::to_string(i++) + "]"));
  return chunks;
}

std::vector<int32_t> to_token_ids(py::handle value, const std::string& where) {
  try {
    return py::cast<std::vector<int32_t>>(value);
  } catch (const py::cast_error&) {
    throw py::type_error(where + " must be a list of ints");
  }
}

const KeywordFields<Prompt>& prompt_fields() {
  static const KeywordFields<Prompt> fields = [] {
    KeywordFields<Prompt> f("Prompt");
    f.custom(
         "chunks", [](Prompt& p, py::handle v) { p.chunks = to_chunks(v, "Prompt.chunks"); },
         [](const Prompt& p) { return py::cast(p.chunks); }, "a list of chunks")
        .member("text", &Prompt::text, "a str")
        .member("token_ids", &Prompt::token_ids, "a list of ints")
        .custom(
            "framing",
            [](Prompt& p, py::handle v) { p.framing = to_framing(py::cast<std::string>(v)); },
            [](const Prompt& p) { return py::cast(framing_name(p.framing)); }, "'chat' or 'raw'")
        .member("enable_thinking", &Prompt::enable_thinking, "a bool or None");
    return f;
  }();
  return fields;
}

Prompt prompt_from_dict(const py::dict& d, const std::string& where) {
  Prompt prompt;
  for (const auto& [key, value] : d) {
    const std::string name = py::str(key);
    if (name == "prompt") {
      prompt.text = py::cast<std::string>(value);
    } else if (name == "prompt_token_ids") {
      prompt.token_ids = to_token_ids(value, where + "['prompt_token_ids']");
    } else if (name == "chunks") {
      prompt.chunks = to_chunks(value, where + "['chunks']");
    } else if (name == "framing") {
      prompt.framing = to_framing(py::cast<std::string>(value));
    } else if (name == "enable_thinking") {
      prompt.enable_thinking = py::cast<std::optional<bool>>(value);
    } else {
      throw py::type_error(where + ": unknown key '" + name +
                           "' (expected prompt, prompt_token_ids, chunks, framing, "
                           "enable_thinking)");
    }
  }
  return prompt;
}

}  // namespace

Prompt::Framing to_framing(const std::string& name) {
  if (name == "chat") return Prompt::Framing::Chat;
  if (name == "raw") return Prompt::Framing::Raw;
  throw Error("framing must be 'chat' or 'raw' (got '" + name + "')");
}

Chunk to_chunk(py::handle value, const std::string& where) {
  if (py::isinstance<Chunk>(value)) return py::cast<Chunk>(value);
  if (py::isinstance<py::str>(value)) return Chunk::context(py::cast<std::string>(value));
  throw py::type_error(where + " must be a str or a Chunk");
}

Prompt to_prompt(py::handle value, const std::string& where) {
  if (py::isinstance<Prompt>(value)) return py::cast<Prompt>(value);
  Prompt prompt;
  if (py::isinstance<py::str>(value)) {
    prompt.text = py::cast<std::string>(value);
  } else if (py::isinstance<py::dict>(value)) {
    prompt = prompt_from_dict(py::reinterpret_borrow<py::dict>(value), where);
  } else if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    prompt.token_ids = to_token_ids(value, where);
  } else {
    throw py::type_error(where + " must be a str, a list of token ids, a dict or a Prompt");
  }
  return prompt;
}

std::vector<Prompt> to_prompts(py::handle value) {
  // One prompt alone (not a list of prompts): a str, a dict or a Prompt.
  if (py::isinstance<py::str>(value) || py::isinstance<py::dict>(value) ||
      py::isinstance<Prompt>(value)) {
    return {to_prompt(value, "prompt")};
  }
  if (!py::isinstance<py::list>(value) && !py::isinstance<py::tuple>(value)) {
    throw py::type_error("prompts must be a list of prompts (str, token ids, dict or Prompt)");
  }
  const py::sequence items = py::reinterpret_borrow<py::sequence>(value);
  // A flat list of ints is one prompt of token ids, as in nano-vllm.
  if (!items.empty() && py::isinstance<py::int_>(items[0])) return {to_prompt(value, "prompt")};
  std::vector<Prompt> prompts;
  for (size_t i = 0; i < items.size(); ++i) {
    prompts.push_back(to_prompt(items[i], "prompts[" + std::to_string(i) + "]"));
  }
  return prompts;
}

void bind_prompt(py::module_& m) {
  py::class_<Chunk>(m, "Chunk", "A reusable piece of a prompt whose KV cache is shared.")
      .def(py::init([](std::string text, std::vector<int32_t> token_ids, const std::string& kind,
                       std::string id) {
             return Chunk{std::move(text), std::move(token_ids), kind_from(kind), std::move(id)};
           }),
           py::kw_only(), py::arg("text") = "", py::arg("token_ids") = std::vector<int32_t>{},
           py::arg("kind") = "context", py::arg("id") = "")
      .def_static("system", &Chunk::system, py::arg("text"), "A system chunk (leads a prompt).")
      .def_static("context", &Chunk::context, py::arg("text"), "A context chunk (a document).")
      .def_static("ref", &Chunk::ref, py::arg("id"), "A chunk registered with LLM.add_chunk.")
      .def_readwrite("text", &Chunk::text)
      .def_readwrite("token_ids", &Chunk::token_ids)
      .def_property(
          "kind", [](const Chunk& c) { return chunk_kind_name(c.kind); },
          [](Chunk& c, const std::string& k) { c.kind = kind_from(k); })
      .def_readwrite("id", &Chunk::id)
      .def("__repr__", [](const Chunk& c) {
        if (!c.id.empty()) return "Chunk.ref('" + c.id + "')";
        const std::string kind = chunk_kind_name(c.kind);
        if (!c.token_ids.empty()) {
          return "Chunk(kind='" + kind + "', token_ids=<" + std::to_string(c.token_ids.size()) +
                 " ids>)";
        }
        return "Chunk." + kind + "(" + std::string(py::repr(py::str(c.text))) + ")";
      });

  py::class_<Prompt> prompt(m, "Prompt", "A prompt: text or token ids after context chunks.");
  prompt.def(py::init([](const py::kwargs& kwargs) {
               Prompt p;
               prompt_fields().set(p, kwargs);
               return p;
             }),
             "Prompt(chunks=[], text='', token_ids=[], framing='chat', enable_thinking=None)");
  prompt_fields().def_properties(prompt);

  m.def("document", &document_chunk, py::arg("text"),
        "A document as a context chunk, framed 'Document: {text}\\n\\n' as the server frames "
        "`documents` (so the same text is the same cached chunk).");
}

}  // namespace cascade::python
