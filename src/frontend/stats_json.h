// Engine statistics as one JSON object (`--stats`, the server's chunk listing).
#pragma once

#include <nlohmann/json.hpp>

#include "cascade/llm.h"

namespace cascade {

nlohmann::json stats_json(const EngineStats& stats);

}  // namespace cascade
