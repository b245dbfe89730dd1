// The `cascade` command line: one subcommand per file (cli_<name>.cpp).
#pragma once

namespace CLI {
class App;
}

namespace cascade {

// Parses argv, runs the subcommand, returns the process exit status. Errors print one
// line "cascade: error: ..." on standard error and return non-zero.
int run_cli(int argc, char** argv);

void add_tokenize_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_chunks_command(CLI::App& app);

}  // namespace cascade
