#include "frontend/cli.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "base/error.h"

namespace cascade {

int run_cli(int argc, char** argv) {
  CLI::App app{"cascade: LLM inference with compositional context caching"};
  app.require_subcommand(1);
  add_tokenize_command(app);
  add_info_command(app);
  add_generate_command(app);
  add_bench_command(app);
  add_demo_command(app);
  add_serve_command(app);
  add_chat_command(app);
  add_chunks_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "cascade: error: " << e.what() << "\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "cascade: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "cascade: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

}  // namespace cascade
