#include <CLI/CLI.hpp>

#include "base/error.h"
#include "frontend/cli.h"

namespace cascade {

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "text on stdin -> JSON array of token ids");
  cmd->callback([] { throw Error("tokenize: not implemented yet"); });
}

}  // namespace cascade
