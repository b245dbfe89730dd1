// Flags shared by the subcommands that run the engine (generate, bench, serve).
#pragma once

#include "cascade/engine_config.h"
#include "cascade/sampling_params.h"

namespace CLI {
class App;
}

namespace cascade {

void add_engine_flags(CLI::App& cmd, EngineConfig& config);
void add_sampling_flags(CLI::App& cmd, SamplingParams& params);

}  // namespace cascade
