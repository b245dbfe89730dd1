#include "cascade/llm.h"

#include <chrono>

#include "base/error.h"
#include "engine/llm_engine.h"

namespace cascade {

LLM::LLM(const std::string& model_dir, const EngineConfig& config)
    : engine_(std::make_unique<LLMEngine>(model_dir, config)) {}

LLM::~LLM() = default;

std::vector<RequestOutput> LLM::generate(const std::vector<Prompt>& prompts,
                                         const SamplingParams& params,
                                         const ProgressCallback& progress) {
  return generate(prompts, std::vector<SamplingParams>{params}, progress);
}

std::vector<RequestOutput> LLM::generate(const std::vector<Prompt>& prompts,
                                         const std::vector<SamplingParams>& params,
                                         const ProgressCallback& progress) {
  check(params.size() == 1 || params.size() == prompts.size(),
        "generate: got " + std::to_string(params.size()) + " sampling params for " +
            std::to_string(prompts.size()) + " prompts (give 1 or one per prompt)");
  check(!engine_->has_unfinished(), "generate: the engine still has requests from add_request");
  // Validate everything first so that bad input queues nothing.
  for (size_t i = 0; i < params.size(); ++i) params[i].validate();
  std::vector<int64_t> ids;
  ids.reserve(prompts.size());
  try {
    for (size_t i = 0; i < prompts.size(); ++i) {
      ids.push_back(engine_->add_request(prompts[i], params[params.size() == 1 ? 0 : i]));
    }
  } catch (const Error& e) {
    for (int64_t id : ids) engine_->abort(id);
    throw Error("prompt " + std::to_string(ids.size()) + ": " + e.what());
  }
  const int64_t first_id = ids.empty() ? 0 : ids.front();
  std::vector<RequestOutput> outputs(prompts.size());
  GenerateProgress state;
  state.num_requests = static_cast<int>(prompts.size());
  while (engine_->has_unfinished()) {
    const auto before = engine_->stats();
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& out : engine_->step()) {
      if (!out.finished()) continue;
      ++state.num_finished;
      outputs[static_cast<size_t>(out.request_id - first_id)] = std::move(out);
    }
    if (progress) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const auto after = engine_->stats();
      state.prefill_tokens_per_s =
          static_cast<double>(after.prefill_tokens - before.prefill_tokens) / s;
      state.decode_tokens_per_s =
          static_cast<double>(after.decode_tokens - before.decode_tokens) / s;
      progress(state);
    }
  }
  for (auto& out : outputs) {
    out.text_delta.clear();
    out.reasoning_content_delta.clear();
    out.content_delta.clear();
    out.token_ids_delta.clear();
  }
  return outputs;
}

std::vector<RequestOutput> LLM::generate(const std::vector<std::string>& prompts,
                                         const SamplingParams& params,
                                         const ProgressCallback& progress) {
  std::vector<Prompt> composed;
  composed.reserve(prompts.size());
  for (const auto& text : prompts) composed.push_back(Prompt{.text = text});
  return generate(composed, params, progress);
}

std::string LLM::add_chunk(const Chunk& chunk, const std::vector<Chunk>& prefix,
                           Prompt::Framing framing) {
  const bool idle = !engine_->has_unfinished();
  std::string id = engine_->add_chunk(chunk, prefix, framing);
  // Compute it now unless streaming requests are in flight (their outputs come from
  // step(), which the caller drives; the chunk is computed along with them).
  while (idle && engine_->has_unfinished()) engine_->step();
  return id;
}

bool LLM::release_chunk(const std::string& id) {
  return engine_->release_chunk(id);
}

std::vector<ChunkInfo> LLM::list_chunks() const {
  return engine_->list_chunks();
}

int64_t LLM::add_request(const Prompt& prompt, const SamplingParams& params) {
  return engine_->add_request(prompt, params);
}

std::vector<RequestOutput> LLM::step() {
  return engine_->step();
}

bool LLM::abort(int64_t request_id) {
  return engine_->abort(request_id);
}

bool LLM::has_unfinished() const {
  return engine_->has_unfinished();
}

const Tokenizer& LLM::tokenizer() const {
  return engine_->tokenizer();
}

EngineStats LLM::stats() const {
  return engine_->stats();
}

int LLM::max_model_len() const {
  return engine_->config().max_model_len;
}

}  // namespace cascade
