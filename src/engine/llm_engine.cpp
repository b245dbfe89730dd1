#include "engine/llm_engine.h"

#include <algorithm>
#include <random>

#include "base/env_int.h"
#include "base/error.h"
#include "base/step_profile.h"
#include "base/step_trace.h"
#include "cache/model_fingerprint.h"
#include "engine/chunk_layout.h"
#include "engine/prompt_composer.h"

namespace cascade {

namespace {

// The step's size for CASCADE_STEP_TRACE: its rows, and the keys it must read at least
// once (each item's chunks and own tokens up to its last row; a fill's chunk tokens).
StepShape step_shape(const SchedulerOutput& scheduled) {
  StepShape shape{.launched = std::chrono::steady_clock::now(),
                  .rows = scheduled.num_tokens,
                  .prefill_tokens = scheduled.num_prefill_tokens};
  for (const auto& item : scheduled.items) {
    for (const ChunkFill& fill : item.fills) shape.context_tokens += fill.first + fill.count;
    if (item.num_new_tokens > 0) {
      shape.context_tokens +=
          item.seq->context_len + item.seq->num_computed_tokens + item.num_new_tokens;
    }
  }
  return shape;
}

const EngineConfig& validated(const EngineConfig& config) {
  config.validate();
  return config;
}

}  // namespace

LLMEngine::LLMEngine(const std::string& model_dir, const EngineConfig& config)
    : config_(validated(config)),
      async_(config_.async_scheduling && env_int("CASCADE_ASYNC_SCHEDULING", 1, 0, 1) == 1),
      tokenizer_(Tokenizer::load(model_dir)),
      runner_(model_dir, config),
      seed_base_(std::random_device{}()) {
  config_.max_model_len = runner_.max_model_len();
  pool_ = std::make_unique<PagePool>(runner_.num_kv_pages(), config_.page_size);
  if (config_.enable_prefix_caching) prefix_cache_ = std::make_unique<PrefixCache>(*pool_);
  registry_ = std::make_unique<ChunkRegistry>(
      *pool_, config_.chunk_registry_size, config_.chunk_page_ratio, runner_.kv_bytes_per_page());
  fingerprint_ = model_fingerprint(model_dir);
  scheduler_ = std::make_unique<Scheduler>(config_, *pool_, prefix_cache_.get(), registry_.get());
}

int LLMEngine::usable_vocab() const {
  return std::min(tokenizer_.vocab_size(), runner_.model_config().vocab_size);
}

void LLMEngine::compose(const Prompt& prompt, bool chunks_only, Sequence& seq) {
  if (prompt.chunks.empty() && !chunks_only) {
    if (!prompt.token_ids.empty()) {
      check_token_ids(prompt.token_ids, usable_vocab(), "prompt token_ids");
      seq.tokens = prompt.token_ids;
    } else {
      seq.tokens = tokenizer_.encode(prompt.text);
    }
    check(!seq.tokens.empty(), "prompt is empty");
  } else {
    ComposedPrompt composed =
        compose_prompt(prompt, tokenizer_, usable_vocab(), library_, chunks_only, &text_cache_);
    lay_out_chunks(composed.chunks, config_.chunk_mode, fingerprint_, seq);
    seq.tokens = std::move(composed.own_tokens);
    int chunk_pages = 0;
    for (const auto& c : seq.chunks) {
      chunk_pages += (c.length() + config_.page_size - 1) / config_.page_size;
    }
    check(chunk_pages <= registry_->page_cap(),
          "prompt's chunks need " + std::to_string(chunk_pages) +
              " KV pages; chunks may hold at most " + std::to_string(registry_->page_cap()) +
              " (chunk_page_ratio of " + std::to_string(pool_->num_pages()) +
              " pages): raise chunk_page_ratio or the KV cache");
    check(static_cast<int>(seq.chunks.size()) <= config_.chunk_registry_size,
          "prompt has " + std::to_string(seq.chunks.size()) +
              " chunks, more than chunk_registry_size " +
              std::to_string(config_.chunk_registry_size));
  }
  for (const auto& c : prompt.chunks) {
    if (!c.id.empty() && !chunks_only) library_.count_use(c.id);
  }
  seq.num_prompt_tokens = seq.num_tokens();
}

int64_t LLMEngine::add_request(const Prompt& prompt, const SamplingParams& params) {
  PhaseTimer timer(StepPhase::AddRequest);
  params.validate();
  Sequence composed;
  compose(prompt, /*chunks_only=*/false, composed);
  const int n = composed.total_prompt_tokens();
  check(n < config_.max_model_len,
        "prompt has " + std::to_string(n) + " tokens; max_model_len is " +
            std::to_string(config_.max_model_len) + " (the prompt and at least one generated " +
            "token must fit)");
  check(config_.enable_chunked_prefill || n <= config_.max_num_batched_tokens,
        "prompt has " + std::to_string(n) + " tokens, more than max_num_batched_tokens " +
            std::to_string(config_.max_num_batched_tokens) + " without chunked prefill");

  const int64_t id = next_id_;
  const uint64_t seed = params.seed ? *params.seed : seed_base_ + static_cast<uint64_t>(id);
  const bool in_think = ends_inside_think_block(composed.tokens);
  auto request = std::make_unique<Request>(
      Request{std::move(composed),
              RequestRng(seed),
              StreamingText(tokenizer_, params.stop, params.skip_special_tokens),
              ReasoningParser(in_think),
              {},
              0,
              {},
              {}});
  request->seq.params = params;
  request->stop_ids = params.stop_token_ids;
  if (!params.ignore_eos) {
    const auto& eos = runner_.model_config().eos_token_ids;
    request->stop_ids.insert(request->stop_ids.end(), eos.begin(), eos.end());
  }
  return enqueue(std::move(request));
}

int64_t LLMEngine::enqueue(std::unique_ptr<Request> request) {
  const int64_t id = next_id_++;
  Sequence& seq = request->seq;
  seq.id = id;
  scheduler_->add(&seq);
  requests_.emplace(id, std::move(request));
  return id;
}

std::string LLMEngine::add_chunk(const Chunk& chunk, const std::vector<Chunk>& prefix,
                                 Prompt::Framing framing) {
  check(chunk.id.empty(), "add_chunk: give the chunk's text or token_ids, not an id");
  std::vector<int32_t> tokens;
  if (!chunk.token_ids.empty()) {
    check_token_ids(chunk.token_ids, usable_vocab(), "chunk token_ids");
    tokens = chunk.token_ids;
  } else {
    tokens = tokenizer_.encode(chunk.text);
  }
  check(!tokens.empty(), "add_chunk: the chunk is empty");
  const std::string id = to_hex(make_chunk_key(fingerprint_, nullptr, tokens));
  const bool known = library_.find(id) != nullptr;
  library_.add(id, chunk.kind, std::move(tokens));
  Prompt prompt{.chunks = prefix, .framing = framing};
  prompt.chunks.push_back(Chunk::ref(id));
  auto request = std::make_unique<Request>(Request{Sequence{},
                                                   RequestRng(0),
                                                   StreamingText(tokenizer_, {}, true),
                                                   ReasoningParser(false),
                                                   {},
                                                   0,
                                                   {},
                                                   {}});
  try {
    compose(prompt, /*chunks_only=*/true, request->seq);
  } catch (const Error&) {
    if (!known) library_.remove(id);
    throw;
  }
  request->seq.prefill_only = true;
  prefill_only_.push_back(enqueue(std::move(request)));
  return id;
}

void LLMEngine::finish_ready_prefills() {
  for (auto it = prefill_only_.begin(); it != prefill_only_.end();) {
    const auto found = requests_.find(*it);
    if (found == requests_.end()) {  // aborted
      it = prefill_only_.erase(it);
      continue;
    }
    Sequence& seq = found->second->seq;
    if (seq.holds_chunks && seq.chunks_ready()) {
      scheduler_->remove(&seq);
      requests_.erase(found);
      it = prefill_only_.erase(it);
    } else {
      ++it;
    }
  }
}

bool LLMEngine::accept_token(Request& request, size_t index, int32_t token) {
  Sequence& seq = request.seq;
  check(seq.num_pending_tokens > 0 && index == static_cast<size_t>(seq.num_known_tokens()),
        "engine: a step's tokens arrived out of order");
  seq.tokens[index] = token;
  --seq.num_pending_tokens;
  scheduler_->publish_pages(seq);
  ++stats_.decode_tokens;
  const int generated = static_cast<int>(index) + 1 - seq.num_prompt_tokens;
  FinishReason reason = FinishReason::None;
  const bool is_stop_id =
      std::find(request.stop_ids.begin(), request.stop_ids.end(), token) != request.stop_ids.end();
  if (is_stop_id) {
    reason = FinishReason::Stop;
  } else if (request.text.add(token)) {
    reason = FinishReason::Stop;
  } else if (generated >= seq.params.max_tokens ||
             seq.context_len + static_cast<int>(index) + 1 >= config_.max_model_len) {
    reason = FinishReason::Length;
  }
  if (reason == FinishReason::None) return false;
  // A step queued after this one may have drawn more: they are not part of the output.
  seq.tokens.resize(index + 1);
  seq.num_pending_tokens = 0;
  seq.last_token_pending = false;
  seq.finish_reason = reason;
  request.text.finish();
  return true;
}

void LLMEngine::finish_request(Request& request) {
  const int64_t id = request.seq.id;
  scheduler_->remove(&request.seq);
  requests_.erase(id);
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
  // Each step costs what it adds: the deltas every step, the whole texts and ids once, when
  // the request finishes. Copying them every step made long outputs quadratic (B1 on the
  // tiny geometry, CPU: this phase 0.77 -> 0.23 ms per step of up to 256 sequences).
  const auto generated = seq.tokens.begin() + seq.num_prompt_tokens;
  const auto known_end = seq.tokens.begin() + seq.num_known_tokens();
  out.token_ids_delta.assign(generated + static_cast<ptrdiff_t>(request.tokens_reported),
                             known_end);
  request.tokens_reported = static_cast<size_t>(known_end - generated);
  out.text_delta = request.text.take_delta();
  ReasoningSplit delta = request.reasoning.push(out.text_delta);
  if (seq.finish_reason != FinishReason::None) {
    const ReasoningSplit rest = request.reasoning.finish();
    delta.reasoning += rest.reasoning;
    delta.answer += rest.answer;
  }
  request.reasoning_content += delta.reasoning;
  request.content += delta.answer;
  if (seq.finish_reason != FinishReason::None) {
    out.token_ids.assign(generated, known_end);
    out.text = request.text.text();
    out.reasoning_content = request.reasoning_content;
    out.content = request.content;
  }
  out.reasoning_content_delta = std::move(delta.reasoning);
  out.content_delta = std::move(delta.answer);
  out.num_prompt_tokens = seq.total_prompt_tokens();
  out.num_cached_tokens = seq.num_cached_tokens;
  out.finish_reason = seq.finish_reason;
  return out;
}

LLMEngine::~LLMEngine() {
  StepProfile& profile = StepProfile::instance();
  if (!profile.enabled()) return;
  std::fputs(profile.table().c_str(), stderr);
  profile.reset();
}

std::vector<RequestOutput> LLMEngine::step() {
  std::vector<RequestOutput> outputs;
  const bool launched = launch_step();
  if (!launched && in_flight_.empty()) {
    check(!scheduler_->has_unfinished(), "scheduler could not make progress (KV cache too small)");
    return outputs;
  }
  // Asynchronous: the step just queued runs on the device while the host reads the tokens
  // of the one before it and makes their outputs.
  const size_t keep = async_ && launched ? 1 : 0;
  while (in_flight_.size() > keep) finish_step(outputs);
  return outputs;
}

bool LLMEngine::launch_step() {
  const SchedulerOutput scheduled = [&] {
    PhaseTimer timer(StepPhase::Schedule);
    auto s = scheduler_->schedule();
    finish_ready_prefills();  // chunks that were cached already
    return s;
  }();
  if (scheduled.empty()) return false;
  // Every sequence that completes its tokens samples, in scheduled order. Each row's draw
  // is taken from its request's generator now; the host sampler, where it samples, gets
  // the generator as it was before the draw and takes the same one.
  std::vector<Request*> sampling;
  for (const auto& item : scheduled.items) {
    if (item.samples) sampling.push_back(requests_.at(item.seq->id).get());
  }
  ModelRunner::StepSampling draws;
  std::vector<float> temperature, top_p;
  std::vector<int32_t> top_k;
  std::vector<double> uniform;
  for (Request* r : sampling) {
    const SamplingParams& p = r->seq.params;
    draws.params.push_back(&p);
    draws.rngs.push_back(r->rng);
    const bool greedy = is_greedy(p);
    temperature.push_back(greedy ? 0.0f : p.temperature);
    uniform.push_back(greedy ? 0.0 : r->rng.next_uniform());
    top_k.push_back(p.top_k);
    top_p.push_back(p.top_p);
  }
  draws.device = {{temperature, uniform, top_k, top_p}, usable_vocab()};
  InFlightStep flight;
  if (trace_.enabled()) flight.shape = step_shape(scheduled);
  runner_.enqueue(scheduled, draws);

  // Steps queued later run after this one, so its KV counts as computed from now on.
  PhaseTimer timer(StepPhase::Outputs);
  scheduler_->complete(scheduled);
  finish_ready_prefills();
  ++stats_.steps;
  stats_.prefill_tokens += scheduled.num_prefill_tokens;
  for (size_t i = 0; i < sampling.size(); ++i) {
    Sequence& seq = sampling[i]->seq;
    flight.tokens.push_back({seq.id, seq.tokens.size()});
    seq.tokens.push_back(-static_cast<int32_t>(i) - 1);
    ++seq.num_pending_tokens;
    seq.last_token_pending = seq.num_generated() >= seq.params.max_tokens ||
                             seq.context_len + seq.num_tokens() >= config_.max_model_len;
  }
  in_flight_.push_back(std::move(flight));
  return true;
}

void LLMEngine::finish_step(std::vector<RequestOutput>& outputs) {
  const InFlightStep flight = std::move(in_flight_.front());
  in_flight_.pop_front();
  const std::vector<int32_t> tokens = runner_.finish();
  trace_.finished(flight.shape);
  PhaseTimer timer(StepPhase::Outputs);
  StepProfile::instance().add_step();
  check(tokens.size() == flight.tokens.size(), [&] {
    return "engine: a step gave " + std::to_string(tokens.size()) + " tokens for " +
           std::to_string(flight.tokens.size()) + " rows";
  });
  std::string fault;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto found = requests_.find(flight.tokens[i].request_id);
    if (found == requests_.end()) continue;  // finished or aborted while this step ran
    Request& request = *found->second;
    if (tokens[i] < 0) {  // the device found the row's logits faulty: this request ends
      if (fault.empty()) {
        fault = "sampler: the logits of request " + std::to_string(request.seq.id) +
                " hold NaN or +inf, or only -inf: no token can be sampled";
      }
      finish_request(request);
      continue;
    }
    const bool finished = accept_token(request, flight.tokens[i].index, tokens[i]);
    outputs.push_back(make_output(request));
    if (finished) finish_request(request);
  }
  check(fault.empty(), fault);
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
  const ChunkRegistryStats& r = registry_->stats();
  s.chunk_entries = r.entries;
  s.chunk_pages = r.pages;
  s.chunk_bytes = r.bytes;
  s.chunk_hits = r.hits;
  s.chunk_misses = r.misses;
  s.chunk_evictions = r.evictions;
  s.chunk_tokens_reused = scheduler_->stats().chunk_tokens_reused;
  s.chunk_tokens_computed = scheduler_->stats().chunk_tokens_computed;
  s.num_kv_pages = pool_->num_pages();
  s.num_free_kv_pages = pool_->num_free();
  s.page_size = pool_->page_size();
  return s;
}

}  // namespace cascade
