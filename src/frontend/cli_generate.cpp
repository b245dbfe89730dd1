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
#include "text/chat_template.h"

namespace cascade {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  std::string prompts_file;
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

void run_generate(const GenerateArgs& args) {
  std::vector<std::string> texts = args.prompts_file.empty() ? std::vector<std::string>{args.prompt}
                                                             : read_prompts(args.prompts_file);
  if (args.chat) {
    const ChatTemplate chat = ChatTemplate::load(args.model);
    ChatOptions options;
    if (args.no_thinking) options.enable_thinking = false;
    for (auto& t : texts) t = chat.render({ChatMessage{"user", t, std::nullopt}}, options);
  }
  args.sampling.validate();  // before the model loads: a bad flag fails fast
  LLM llm(args.model, args.engine);
  const bool show = !args.no_progress && (args.progress || ::isatty(STDERR_FILENO));
  ProgressBar bar(show);
  const std::vector<Prompt> prompts(texts.begin(), texts.end());
  const auto outputs =
      llm.generate(prompts, args.sampling, [&bar](const GenerateProgress& p) { bar.update(p); });
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& out = outputs[i];
    if (args.json) {
      nlohmann::json j = {{"text", out.text},
                          {"reasoning_content", out.reasoning_content},
                          {"content", out.content},
                          {"token_ids", out.token_ids},
                          {"finish_reason", finish_reason_name(out.finish_reason)}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      if (outputs.size() > 1) std::cout << "=== " << i << " ===\n";
      std::cout << out.text << "\n";
    }
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "generate completions for prompts");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  auto* prompt = cmd->add_option("--prompt", args->prompt, "one prompt");
  auto* file = cmd->add_option("--prompts-file", args->prompts_file, "one prompt per line");
  prompt->excludes(file);
  cmd->add_flag("--chat", args->chat, "wrap each prompt in the model's chat template");
  cmd->add_flag("--no-thinking", args->no_thinking, "with --chat: enable_thinking=false");
  cmd->add_flag("--json", args->json,
                "one JSON object per prompt (text, token_ids, finish_reason)");
  cmd->add_flag("--progress", args->progress, "always show the progress bar");
  cmd->add_flag("--no-progress", args->no_progress, "never show the progress bar");
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args, prompt, file] {
    check(prompt->count() + file->count() == 1, "generate: give --prompt or --prompts-file");
    check(!args->prompt.empty() || file->count(), "generate: --prompt is empty");
    run_generate(*args);
  });
}

}  // namespace cascade
