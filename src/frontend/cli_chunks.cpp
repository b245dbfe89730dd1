// `cascade chunks`: registers documents as chunks, computes their KV, and prints their ids
// and the chunk registry's statistics. Ids depend only on the model and the text, so they
// are the ids `cascade serve` gives the same documents (POST /v1/chunks), and requests can
// name them in `documents` as {"id": ...} once the server has them.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/chat_prompt.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "frontend/document_chunk.h"

namespace cascade {
namespace {

struct ChunksArgs {
  std::string model;
  std::vector<std::string> files;
  std::optional<std::string> system;
  bool per_line = false;
  EngineConfig engine;
};

struct Document {
  std::string source;  // file, or file:line
  std::string text;
};

std::vector<Document> read_documents(const ChunksArgs& args) {
  std::vector<Document> documents;
  for (const auto& path : args.files) {
    std::ifstream in(path, std::ios::binary);
    check(static_cast<bool>(in), path + ": cannot open");
    if (!args.per_line) {
      std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      while (!text.empty() && text.back() == '\n') text.pop_back();
      check(!text.empty(), path + ": empty document");
      documents.push_back({path, std::move(text)});
      continue;
    }
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      if (!line.empty()) documents.push_back({path + ":" + std::to_string(n), line});
    }
  }
  check(!documents.empty(), "chunks: no documents in the given files");
  return documents;
}

void run_chunks(const ChunksArgs& args) {
  const std::vector<Document> documents = read_documents(args);
  const ChatTemplate chat = ChatTemplate::load(args.model);
  const std::vector<Chunk> prefix = {chat_documents_prefix(chat, args.system)};
  LLM llm(args.model, args.engine);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (const auto& d : documents)
    ids.push_back(llm.add_chunk(document_chunk(d.text), prefix, Prompt::Framing::Raw));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const auto chunks = llm.list_chunks();
  for (size_t i = 0; i < documents.size(); ++i) {
    int tokens = 0;
    for (const auto& c : chunks) {
      if (c.id == ids[i]) tokens = c.num_tokens;
    }
    std::printf("%s  %5d tokens  %s\n", ids[i].c_str(), tokens, documents[i].source.c_str());
  }
  const EngineStats st = llm.stats();
  std::printf(
      "%zu chunks registered in %.3f s | registry: %lld entries, %lld KV pages (%lld bytes), "
      "%lld tokens computed, %lld reused\n",
      chunks.size(), s, static_cast<long long>(st.chunk_entries),
      static_cast<long long>(st.chunk_pages), static_cast<long long>(st.chunk_bytes),
      static_cast<long long>(st.chunk_tokens_computed),
      static_cast<long long>(st.chunk_tokens_reused));
}

}  // namespace

void add_chunks_command(CLI::App& app) {
  auto args = std::make_shared<ChunksArgs>();
  auto* cmd = app.add_subcommand(
      "chunks", "register documents as chunks: print their ids and the registry's statistics");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("files", args->files, "document files (one document each)")->required();
  cmd->add_flag("--per-line", args->per_line, "each non-empty line of a file is a document");
  cmd->add_option_function<std::string>(
      "--system", [args](const std::string& s) { args->system = s; },
      "the system message the documents will follow in chat requests");
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_chunks(*args); });
}

}  // namespace cascade
