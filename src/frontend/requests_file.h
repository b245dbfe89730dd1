// `cascade generate --requests FILE`: one request per line, as JSON:
//   {"system": "...", "chunks": ["doc 1", "doc 2"], "prompt": "question",
//    "max_tokens": 64, "temperature": 0, "top_p": 1, "top_k": 0, "seed": 7, "stop": ["\n"]}
// Only "prompt" is required; "system" becomes a system chunk, "chunks" context chunks.
// Unknown fields and wrong types are errors naming the file, line and field.
#pragma once

#include <string>
#include <vector>

#include "cascade/prompt.h"
#include "cascade/sampling_params.h"

namespace cascade {

struct FileRequest {
  Prompt prompt;
  SamplingParams sampling;
};

// `defaults` are the command line's sampling flags; a line's fields override them.
std::vector<FileRequest> read_requests_file(const std::string& path,
                                            const SamplingParams& defaults);

}  // namespace cascade
