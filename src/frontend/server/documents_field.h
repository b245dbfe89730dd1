// A request's `documents`, composed before its prompt or messages: texts, or chunks
// registered ahead with POST /v1/chunks:
//   "documents": ["Crystalton is located in Nebulonia.", {"id": "<64 hex digits>"},
//                 {"text": "Nebulonia became independent in 1766."}]
#pragma once

#include <vector>

#include "cascade/chunk.h"
#include "frontend/server/request_fields.h"

namespace cascade {

std::vector<Chunk> parse_documents(const json& body);

}  // namespace cascade
