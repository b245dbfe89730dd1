#include <CLI/CLI.hpp>

#include "base/error.h"
#include "frontend/cli.h"

namespace cascade {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "describe a model folder");
  cmd->callback([] { throw Error("info: not implemented yet"); });
}

}  // namespace cascade
