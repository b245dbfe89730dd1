// The asynchronous-scheduling checks (async_scheduling_suite.cpp), each on `device`
// ("cpu" or "cuda"): gtest assertions inside, called from a TEST of each binary.
#pragma once

#include <string>

namespace cascade::test {

// Greedy and sampled requests of 1-40 tokens: outputs equal the waited engine's.
void check_async_outputs_equal_waiting(const std::string& device);
// The same with stop token ids that end most requests early.
void check_async_stop_token_ids(const std::string& device);
// The same in a pool of 24 pages, which preempts.
void check_async_preemption(const std::string& device);
// Streamed deltas add up to each output; an abort mid-way loses no other request.
void check_async_streaming_and_abort(const std::string& device);

}  // namespace cascade::test
