// `cascade demo`: answers questions about a set of documents with a model and shows what
// the caches did. Every prompt is the same system prefix and documents followed by one
// question (the framing the bundled model was trained on, tools/worldgen.py); the
// questions are asked twice, and the second round is served from the prefix cache.
#include <CLI/CLI.hpp>
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

constexpr const char* kSystemPrefix =
    "<|im_start|>system\nYou answer questions using only the documents.<|im_end|>\n"
    "<|im_start|>user\n";

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
  const double hit = s.prefix_cache_queried_tokens
                         ? 100.0 * static_cast<double>(s.prefix_cache_hit_tokens) /
                               static_cast<double>(s.prefix_cache_queried_tokens)
                         : 0.0;
  std::printf(
      "  %.3f s | prefill %lld tok | decode %lld tok | prefix cache %lld/%lld tok (%.1f%%) | "
      "KV pages %d/%d free | preemptions %lld\n",
      seconds, static_cast<long long>(s.prefill_tokens), static_cast<long long>(s.decode_tokens),
      static_cast<long long>(s.prefix_cache_hit_tokens),
      static_cast<long long>(s.prefix_cache_queried_tokens), hit, s.num_free_kv_pages,
      s.num_kv_pages, static_cast<long long>(s.preemptions));
}

void run_demo(const DemoArgs& args) {
  const auto documents = read_lines(args.documents_file);
  const auto questions = read_lines(args.questions_file);
  std::string context = kSystemPrefix;
  for (const auto& d : documents) context += "Document: " + d + "\n\n";
  std::vector<Prompt> prompts;
  for (const auto& q : questions) {
    prompts.emplace_back(context + "Question: " + q + "<|im_end|>\n<|im_start|>assistant\n");
  }
  LLM llm(args.model, args.engine);
  std::printf("%zu documents, %zu questions\n", documents.size(), questions.size());
  for (int round = 1; round <= 2; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto outputs = llm.generate(prompts, args.sampling);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("round %d\n", round);
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
  auto* cmd = app.add_subcommand("demo", "answer questions about documents, show cache statistics");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("--documents", args->documents_file, "documents, one per line")->required();
  cmd->add_option("--questions", args->questions_file, "questions, one per line")->required();
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace cascade
