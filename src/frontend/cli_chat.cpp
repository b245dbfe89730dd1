// `cascade chat`: an interactive chat on standard input, answers streamed as they are
// generated. Optional documents (one per line of a file) go before the first message,
// as in the server's `documents`; "/reset" forgets the conversation, "/quit" or EOF ends.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/chat_prompt.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "frontend/document_chunk.h"

namespace cascade {
namespace {

struct ChatArgs {
  std::string model;
  std::string system;
  std::string documents_file;
  bool no_thinking = false;
  bool show_reasoning = false;
  EngineConfig engine;
  SamplingParams sampling;
};

std::vector<Chunk> read_documents(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  check(static_cast<bool>(in), path + ": cannot open documents file");
  std::vector<Chunk> documents;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) documents.push_back(document_chunk(line));
  }
  check(!documents.empty(), path + ": no documents (one per line)");
  return documents;
}

// Runs one turn, printing the answer (and the reasoning, if asked) as it streams.
RequestOutput stream_answer(LLM& llm, const Prompt& prompt, const ChatArgs& args) {
  llm.add_request(prompt, args.sampling);
  RequestOutput last;
  while (llm.has_unfinished()) {
    for (auto& out : llm.step()) {
      if (args.show_reasoning && !out.reasoning_content_delta.empty()) {
        std::cerr << out.reasoning_content_delta << std::flush;
      }
      std::cout << out.content_delta << std::flush;
      last = std::move(out);
    }
  }
  if (args.show_reasoning && !last.reasoning_content.empty()) std::cerr << "\n";
  std::cout << "\n" << std::flush;
  return last;
}

void run_chat(const ChatArgs& args) {
  const ChatTemplate chat = ChatTemplate::load(args.model);
  const std::vector<Chunk> documents = read_documents(args.documents_file);
  args.sampling.validate();
  LLM llm(args.model, args.engine);
  ChatOptions options;
  if (args.no_thinking) options.enable_thinking = false;
  const bool interactive = ::isatty(STDIN_FILENO);
  std::vector<ChatMessage> messages;
  const auto reset = [&] {
    messages.clear();
    if (!args.system.empty()) messages.push_back({"system", args.system, std::nullopt});
  };
  reset();
  for (std::string line;;) {
    if (interactive) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      reset();
      continue;
    }
    messages.push_back({"user", line, std::nullopt});
    const RequestOutput out =
        stream_answer(llm, chat_prompt(chat, messages, documents, options), args);
    messages.push_back({"assistant", out.content, out.reasoning_content});
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  args->sampling.max_tokens = 512;
  auto* cmd = app.add_subcommand("chat", "interactive chat on standard input, streamed answers");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("--system", args->system, "system message");
  cmd->add_option("--documents", args->documents_file,
                  "documents (one per line) placed before the conversation");
  cmd->add_flag("--no-thinking", args->no_thinking, "enable_thinking=false");
  cmd->add_flag("--show-reasoning", args->show_reasoning, "stream the reasoning to stderr");
  add_sampling_flags(*cmd, args->sampling);
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_chat(*args); });
}

}  // namespace cascade
