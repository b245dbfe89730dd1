#include "engine/llm_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "base/error.h"

namespace cascade {

namespace {

const EngineConfig& validated(const EngineConfig& config) {
  config.validate();
  return config;
}

}  // namespace

LLMEngine::LLMEngine(const std::string& model_dir, const EngineConfig& config)
    : config_(validated(config)),
      tokenizer_(Tokenizer::load(model_dir)),
      runner_(model_dir, config),
      seed_base_(std::random_device{}()) {
  config_.max_model_len = runner_.max_model_len();
  pool_ = std::make_unique<PagePool>(runner_.num_kv_pages(), config_.page_size);
  if (config_.enable_prefix_caching) prefix_cache_ = std::make_unique<PrefixCache>(*pool_);
  scheduler_ = std::make_unique<Scheduler>(config_, *pool_, prefix_cache_.get());
}

std::vector<int32_t> LLMEngine::tokenize(const Prompt& prompt) const {
  if (prompt.is_tokens) {
    const int vocab = std::min(tokenizer_.vocab_size(), runner_.model_config().vocab_size);
    for (size_t i = 0; i < prompt.token_ids.size(); ++i) {
      const int32_t id = prompt.token_ids[i];
      check(0 <= id && id < vocab,
            "prompt token_ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    return prompt.token_ids;
  }
  return tokenizer_.encode(prompt.text);
}

int64_t LLMEngine::add_request(const Prompt& prompt, const SamplingParams& params) {
  params.validate();
  std::vector<int32_t> tokens = tokenize(prompt);
  check(!tokens.empty(), "prompt is empty");
  const int n = static_cast<int>(tokens.size());
  check(n < config_.max_model_len,
        "prompt has " + std::to_string(n) + " tokens; max_model_len is " +
            std::to_string(config_.max_model_len) + " (the prompt and at least one generated " +
            "token must fit)");
  check(config_.enable_chunked_prefill || n <= config_.max_num_batched_tokens,
        "prompt has " + std::to_string(n) + " tokens, more than max_num_batched_tokens " +
            std::to_string(config_.max_num_batched_tokens) + " without chunked prefill");

  const int64_t id = next_id_++;
  const uint64_t seed = params.seed ? *params.seed : seed_base_ + static_cast<uint64_t>(id);
  auto request = std::make_unique<Request>(
      Request{Sequence{},
              RequestRng(seed),
              StreamingText(tokenizer_, params.stop, params.skip_special_tokens),
              ReasoningParser(ends_inside_think_block(tokens)),
              {},
              0,
              {},
              {}});
  Sequence& seq = request->seq;
  seq.id = id;
  seq.tokens = std::move(tokens);
  seq.num_prompt_tokens = n;
  seq.params = params;
  request->stop_ids = params.stop_token_ids;
  if (!params.ignore_eos) {
    const auto& eos = runner_.model_config().eos_token_ids;
    request->stop_ids.insert(request->stop_ids.end(), eos.begin(), eos.end());
  }
  scheduler_->add(&seq);
  requests_.emplace(id, std::move(request));
  return id;
}

bool LLMEngine::append_token(Request& request, int32_t token) {
  Sequence& seq = request.seq;
  seq.tokens.push_back(token);
  ++stats_.decode_tokens;
  FinishReason reason = FinishReason::None;
  const bool is_stop_id =
      std::find(request.stop_ids.begin(), request.stop_ids.end(), token) != request.stop_ids.end();
  if (is_stop_id) {
    reason = FinishReason::Stop;
  } else if (request.text.add(token)) {
    reason = FinishReason::Stop;
  } else if (seq.num_generated() >= seq.params.max_tokens ||
             seq.num_tokens() >= config_.max_model_len) {
    reason = FinishReason::Length;
  }
  if (reason == FinishReason::None) return false;
  seq.finish_reason = reason;
  request.text.finish();
  return true;
}

bool LLMEngine::ends_inside_think_block(const std::vector<int32_t>& prompt) const {
  // A thinking template leaves the prompt right after "<think>\n": the output starts
  // inside the reasoning.
  const size_t n = std::min<size_t>(prompt.size(), 2);
  std::string tail = tokenizer_.decode(std::span<const int32_t>(prompt).last(n));
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  return tail.ends_with("<think>");
}

RequestOutput LLMEngine::make_output(Request& request) {
  const Sequence& seq = request.seq;
  RequestOutput out;
  out.request_id = seq.id;
  out.token_ids.assign(seq.tokens.begin() + seq.num_prompt_tokens, seq.tokens.end());
  out.token_ids_delta.assign(
      out.token_ids.begin() + static_cast<ptrdiff_t>(request.tokens_reported), out.token_ids.end());
  request.tokens_reported = out.token_ids.size();
  out.text = request.text.text();
  out.text_delta = request.text.take_delta();
  ReasoningSplit delta = request.reasoning.push(out.text_delta);
  if (seq.finish_reason != FinishReason::None) {
    const ReasoningSplit rest = request.reasoning.finish();
    delta.reasoning += rest.reasoning;
    delta.answer += rest.answer;
  }
  request.reasoning_content += delta.reasoning;
  request.content += delta.answer;
  out.reasoning_content = request.reasoning_content;
  out.content = request.content;
  out.reasoning_content_delta = std::move(delta.reasoning);
  out.content_delta = std::move(delta.answer);
  out.num_prompt_tokens = seq.num_prompt_tokens;
  out.num_cached_tokens = seq.num_cached_tokens;
  out.finish_reason = seq.finish_reason;
  return out;
}

std::vector<RequestOutput> LLMEngine::step() {
  std::vector<RequestOutput> outputs;
  const SchedulerOutput scheduled = scheduler_->schedule();
  if (scheduled.empty()) {
    check(!scheduler_->has_unfinished(), "scheduler could not make progress (KV cache too small)");
    return outputs;
  }
  std::vector<float>& rows = runner_.run(scheduled);  // [sampling sequences, vocab]
  scheduler_->complete(scheduled);
  ++stats_.steps;
  stats_.prefill_tokens += scheduled.num_prefill_tokens;

  // Sample every sequence that completed its tokens, in scheduled order.
  const int vocab = runner_.model_config().vocab_size;
  const int usable_vocab = std::min(vocab, tokenizer_.vocab_size());
  std::vector<Request*> sampling;
  for (const auto& item : scheduled.items) {
    if (item.samples) sampling.push_back(requests_.at(item.seq->id).get());
  }
  // Ids past the tokenizer (padding rows of the embedding) can never be produced.
  for (size_t r = 0; r < sampling.size() && usable_vocab < vocab; ++r) {
    std::fill(rows.begin() + static_cast<ptrdiff_t>(r * vocab + usable_vocab),
              rows.begin() + static_cast<ptrdiff_t>((r + 1) * vocab),
              -std::numeric_limits<float>::infinity());
  }
  std::vector<const SamplingParams*> params;
  std::vector<RequestRng*> rngs;
  for (Request* r : sampling) {
    params.push_back(&r->seq.params);
    rngs.push_back(&r->rng);
  }
  std::vector<int32_t> tokens(sampling.size());
  sample_tokens(rows.data(), static_cast<int>(sampling.size()), vocab, params, rngs, tokens);

  for (size_t i = 0; i < sampling.size(); ++i) {
    Request& request = *sampling[i];
    const bool finished = append_token(request, tokens[i]);
    outputs.push_back(make_output(request));
    if (finished) {
      scheduler_->remove(&request.seq);
      requests_.erase(request.seq.id);
    }
  }
  return outputs;
}

bool LLMEngine::abort(int64_t request_id) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return false;
  scheduler_->remove(&it->second->seq);
  requests_.erase(it);
  return true;
}

EngineStats LLMEngine::stats() const {
  EngineStats s = stats_;
  if (prefix_cache_) {
    s.prefix_cache_queried_tokens = prefix_cache_->stats().queried_tokens;
    s.prefix_cache_hit_tokens = prefix_cache_->stats().hit_tokens;
  }
  s.preemptions = scheduler_->num_preemptions();
  s.num_kv_pages = pool_->num_pages();
  s.num_free_kv_pages = pool_->num_free();
  s.page_size = pool_->page_size();
  return s;
}

}  // namespace cascade
