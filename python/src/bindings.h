// The pieces of the `cascade._cascade` module, one file each; module.cpp puts them together.
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "cascade/llm.h"

namespace cascade::python {

namespace py = pybind11;

void bind_sampling_params(py::module_& m);
void bind_prompt(py::module_& m);  // Chunk, Prompt, document()
void bind_llm(py::module_& m);

// Python values as C++ (raise TypeError / cascade.Error naming what is wrong).
EngineConfig engine_config_from_kwargs(const py::kwargs& kwargs);
Prompt to_prompt(py::handle value, const std::string& where);
std::vector<Prompt> to_prompts(py::handle value);
Chunk to_chunk(py::handle value, const std::string& where);
std::vector<SamplingParams> to_sampling_params(py::handle value, size_t num_prompts);
Prompt::Framing to_framing(const std::string& name);

// C++ values as Python dicts.
py::dict output_dict(const RequestOutput& output);
py::dict delta_output_dict(const RequestOutput& output);  // plus the *_delta fields
py::dict stats_dict(const EngineStats& stats);
py::dict chunk_info_dict(const ChunkInfo& info);

}  // namespace cascade::python
