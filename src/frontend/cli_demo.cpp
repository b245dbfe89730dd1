// `cascade demo`: answers questions with a model and shows what the caches did.
// Each question is asked twice; the second round is served from the prefix cache.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "text/chat_template.h"

namespace cascade {
namespace {

struct DemoArgs {
  std::string model;
  std::string prompts_file;
  std::string system = "You are a helpful assistant. Answer in one sentence.";
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
  check(!lines.empty(), path + ": no questions (one per line)");
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
  const auto questions = read_lines(args.prompts_file);
  const ChatTemplate chat = ChatTemplate::load(args.model);
  ChatOptions options;
  options.enable_thinking = false;
  std::vector<Prompt> prompts;
  for (const auto& q : questions) {
    prompts.emplace_back(
        chat.render({{"system", args.system, std::nullopt}, {"user", q, std::nullopt}}, options));
  }
  LLM llm(args.model, args.engine);
  for (int round = 1; round <= 2; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto outputs = llm.generate(prompts, args.sampling);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("round %d\n", round);
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::printf("  Q: %s\n  A: %s  [%s, %d prompt tokens, %d cached]\n", questions[i].c_str(),
                  outputs[i].text.c_str(), finish_reason_name(outputs[i].finish_reason),
                  outputs[i].num_prompt_tokens, outputs[i].num_cached_tokens);
    }
    print_stats(llm.stats(), s);
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  args->sampling.temperature = 0;
  auto* cmd = app.add_subcommand("demo", "answer questions and show cache statistics");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("--prompts-file", args->prompts_file, "questions, one per line")->required();
  cmd->add_option("--system", args->system, "system prompt shared by every question");
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace cascade
