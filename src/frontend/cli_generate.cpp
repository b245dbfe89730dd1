#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "frontend/progress_bar.h"
#include "frontend/requests_file.h"
#include "frontend/stats_json.h"
#include "text/chat_template.h"

namespace cascade {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  std::string prompts_file;
  std::string requests_file;
  std::vector<std::string> chunk_files;
  std::string system_chunk_file;
  std::string framing = "chat";
  bool stats = false;
  bool chat = false;
  bool no_thinking = false;
  bool json = false;
  bool progress = false;
  bool no_progress = false;
  EngineConfig engine;
  SamplingParams sampling;
};

std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream in(path);
  check(static_cast<bool>(in), path + ": cannot open prompts file");
  std::vector<std::string> prompts;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    check(!line.empty(), path + ":" + std::to_string(n) + ": empty prompt");
    prompts.push_back(line);
  }
  check(!prompts.empty(), path + ": no prompts (one prompt per line)");
  return prompts;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), path + ": cannot open chunk file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(!text.empty(), path + ": chunk file is empty");
  return text;
}

// Prompts and their sampling params from --requests, or from --prompt / --prompts-file
// (with --chunk files composed in front of each).
void collect_requests(const GenerateArgs& args, std::vector<Prompt>& prompts,
                      std::vector<SamplingParams>& params) {
  if (!args.requests_file.empty()) {
    for (auto& r : read_requests_file(args.requests_file, args.sampling)) {
      r.prompt.framing = args.framing == "raw" ? Prompt::Framing::Raw : Prompt::Framing::Chat;
      prompts.push_back(std::move(r.prompt));
      params.push_back(r.sampling);
    }
    return;
  }
  std::vector<std::string> texts = args.prompts_file.empty() ? std::vector<std::string>{args.prompt}
                                                             : read_prompts(args.prompts_file);
  std::vector<Chunk> chunks;
  if (!args.system_chunk_file.empty()) {
    chunks.push_back(Chunk::system(read_text_file(args.system_chunk_file)));
  }
  for (const auto& path : args.chunk_files) chunks.push_back(Chunk::context(read_text_file(path)));
  if (args.chat && chunks.empty()) {
    const ChatTemplate chat = ChatTemplate::load(args.model);
    ChatOptions options;
    if (args.no_thinking) options.enable_thinking = false;
    for (auto& t : texts) t = chat.render({ChatMessage{"user", t, std::nullopt}}, options);
  }
  for (auto& t : texts) {
    Prompt p{.chunks = chunks, .text = std::move(t)};
    p.framing = args.framing == "raw" ? Prompt::Framing::Raw : Prompt::Framing::Chat;
    if (args.no_thinking) p.enable_thinking = false;
    prompts.push_back(std::move(p));
  }
  params.push_back(args.sampling);
}

void run_generate(const GenerateArgs& args) {
  args.sampling.validate();  // before the model loads: a bad flag fails fast
  std::vector<Prompt> prompts;
  std::vector<SamplingParams> params;
  collect_requests(args, prompts, params);
  LLM llm(args.model, args.engine);
  const bool show = !args.no_progress && (args.progress || ::isatty(STDERR_FILENO));
  ProgressBar bar(show);
  const auto outputs =
      llm.generate(prompts, params, [&bar](const GenerateProgress& p) { bar.update(p); });
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& out = outputs[i];
    if (args.json) {
      nlohmann::json j = {{"text", out.text},
                          {"reasoning_content", out.reasoning_content},
                          {"content", out.content},
                          {"token_ids", out.token_ids},
                          {"finish_reason", finish_reason_name(out.finish_reason)},
                          {"num_prompt_tokens", out.num_prompt_tokens},
                          {"num_cached_tokens", out.num_cached_tokens}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      if (outputs.size() > 1) std::cout << "=== " << i << " ===\n";
      std::cout << out.text << "\n";
    }
  }
  if (args.stats) std::cerr << stats_json(llm.stats()).dump() << "\n";
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "generate completions for prompts");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  auto* prompt = cmd->add_option("--prompt", args->prompt, "one prompt");
  auto* file = cmd->add_option("--prompts-file", args->prompts_file, "one prompt per line");
  auto* requests = cmd->add_option("--requests", args->requests_file,
                                   "JSON lines: {\"chunks\": [texts], \"prompt\": text, ...}; "
                                   "all run as one batch");
  prompt->excludes(file);
  requests->excludes(prompt)->excludes(file);
  auto* chunk = cmd->add_option("--chunk", args->chunk_files,
                                "context chunk: a text file (repeatable, in prompt order)");
  auto* system = cmd->add_option("--system-chunk", args->system_chunk_file,
                                 "system chunk: a text file, before the --chunk files");
  chunk->excludes(requests);
  system->excludes(requests);
  cmd->add_option("--framing", args->framing,
                  "composed prompts: chat (the chat template's turns) or raw")
      ->check(CLI::IsMember({"chat", "raw"}))
      ->capture_default_str();
  cmd->add_flag("--stats", args->stats,
                "print registry and page-pool statistics as JSON on standard error");
  cmd->add_flag("--chat", args->chat, "wrap each prompt in the model's chat template");
  cmd->add_flag("--no-thinking", args->no_thinking, "with --chat: enable_thinking=false");
  cmd->add_flag("--json", args->json,
                "one JSON object per prompt (text, token_ids, finish_reason)");
  cmd->add_flag("--progress", args->progress, "always show the progress bar");
  cmd->add_flag("--no-progress", args->no_progress, "never show the progress bar");
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args, prompt, file, requests] {
    check(prompt->count() + file->count() + requests->count() == 1,
          "generate: give --prompt, --prompts-file or --requests");
    check(!args->prompt.empty() || file->count() || requests->count(),
          "generate: --prompt is empty");
    run_generate(*args);
  });
}

}  // namespace cascade
