// `cascade tokenize`: text on stdin -> JSON array of ids; with --decode, the reverse.
#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "frontend/cli.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  bool decode = false;
  bool skip_special_tokens = false;
};

std::string read_stdin() {
  std::cin >> std::noskipws;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::vector<int32_t> parse_ids(const std::string& text) {
  nlohmann::json ids;
  try {
    ids = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("tokenize --decode: standard input is not valid JSON: ") + e.what());
  }
  if (!ids.is_array()) throw Error("tokenize --decode: standard input must be a JSON array of ids");
  std::vector<int32_t> result;
  result.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& id = ids[i];
    if (!id.is_number_integer() || id.get<int64_t>() < INT32_MIN || id.get<int64_t>() > INT32_MAX) {
      throw Error("tokenize --decode: element " + std::to_string(i) + " (" + id.dump() +
                  ") is not a token id");
    }
    result.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return result;
}

void run_tokenize(const TokenizeOptions& options) {
  const std::string input = read_stdin();
  if (options.decode) {
    const std::vector<int32_t> ids = parse_ids(input);  // before the slower tokenizer load
    std::cout << Tokenizer::load(options.model_dir).decode(ids, options.skip_special_tokens);
  } else {
    const Tokenizer tokenizer = Tokenizer::load(options.model_dir);
    std::cout << nlohmann::json(tokenizer.encode(input)).dump() << "\n";
  }
  std::cout.flush();
  if (!std::cout) throw Error("tokenize: cannot write to standard output");
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand(
      "tokenize", "text on stdin -> JSON array of token ids (--decode: ids -> text)");
  cmd->add_option("--model", options->model_dir, "model folder holding tokenizer.json")->required();
  cmd->add_flag("--decode", options->decode, "read a JSON array of ids, print the text");
  cmd->add_flag("--skip-special-tokens", options->skip_special_tokens,
                "with --decode: leave special tokens out");
  cmd->callback([options] { run_tokenize(*options); });
}

}  // namespace cascade
