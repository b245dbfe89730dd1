// `cascade demo`: answers questions about a set of documents with a model and shows what
// the caches did. Every prompt is composed of chunks: the system prompt and the documents
// (the framing the bundled model was trained on, tools/worldgen.py), then one question.
// Round 1 computes each chunk once for all questions; round 2 asks again with the
// documents in reverse order, served from the chunk registry (compositional mode).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"

namespace cascade {
namespace {

constexpr const char* kSystemPrompt = "You answer questions using only the documents.";

struct DemoArgs {
  std::string model;
  std::string documents_file;
  std::string questions_file;
  EngineConfig engine;
  SamplingParams sampling;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  check(static_cast<bool>(in), path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  check(!lines.empty(), path + ": empty (one entry per line)");
  return lines;
}

void print_stats(const EngineStats& s, double seconds) {
  std::printf(
      "  %.3f s | prefill %lld tok | decode %lld tok | KV pages %d/%d free | preemptions %lld\n"
      "  chunk registry: %lld chunks in %lld pages (%lld KiB), %lld hits, %lld misses, "
      "%lld evictions | chunk tokens reused %lld, computed %lld\n",
      seconds, static_cast<long long>(s.prefill_tokens), static_cast<long long>(s.decode_tokens),
      s.num_free_kv_pages, s.num_kv_pages, static_cast<long long>(s.preemptions),
      static_cast<long long>(s.chunk_entries), static_cast<long long>(s.chunk_pages),
      static_cast<long long>(s.chunk_bytes / 1024), static_cast<long long>(s.chunk_hits),
      static_cast<long long>(s.chunk_misses), static_cast<long long>(s.chunk_evictions),
      static_cast<long long>(s.chunk_tokens_reused),
      static_cast<long long>(s.chunk_tokens_computed));
}

std::vector<Prompt> compose(const std::vector<std::string>& documents,
                            const std::vector<std::string>& questions, bool reversed) {
  std::vector<Chunk> chunks = {Chunk::system(kSystemPrompt)};
  for (const auto& d : documents) chunks.push_back(Chunk::context("Document: " + d + "\n\n"));
  if (reversed) std::reverse(chunks.begin() + 1, chunks.end());
  std::vector<Prompt> prompts;
  for (const auto& q : questions)
    prompts.push_back(Prompt{.chunks = chunks, .text = "Question: " + q});
  return prompts;
}

void run_demo(const DemoArgs& args) {
  const auto documents = read_lines(args.documents_file);
  const auto questions = read_lines(args.questions_file);
  LLM llm(args.model, args.engine);
  std::printf("%zu documents, %zu questions | %s mode, cascade attention %s\n", documents.size(),
              questions.size(), chunk_mode_name(args.engine.chunk_mode),
              args.engine.enable_cascade_attention ? "on" : "off");
  for (int round = 1; round <= 2; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto outputs = llm.generate(compose(documents, questions, round == 2), args.sampling);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(round == 1 ? "round 1: documents in order\n"
                           : "round 2: documents in reverse order\n");
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::printf("  Q: %s\n  A: %s   [%d prompt tokens, %d from cache]\n", questions[i].c_str(),
                  outputs[i].content.c_str(), outputs[i].num_prompt_tokens,
                  outputs[i].num_cached_tokens);
    }
    print_stats(llm.stats(), s);
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  args->sampling.temperature = 0;
  args->sampling.max_tokens = 48;
  args->engine.enable_cascade_attention = true;
  auto* cmd = app.add_subcommand("demo", "answer questions about documents, show cache statistics");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("--documents", args->documents_file, "documents, one per line")->required();
  cmd->add_option("--questions", args->questions_file, "questions, one per line")->required();
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace cascade
