// `cascade serve`: the OpenAI-compatible HTTP server (docs/SERVER.md).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "frontend/server/http_server.h"
#include "frontend/server/stop_on_signal.h"

namespace cascade {
namespace {

struct ServeArgs {
  std::string model;
  std::string served_model_name;
  ServerOptions server;
  EngineConfig engine;
};

std::optional<ChatTemplate> load_chat_template(const std::string& model_dir) {
  try {
    return ChatTemplate::load(model_dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "cascade serve: no chat completions: %s\n", e.what());
    return std::nullopt;
  }
}

void run_serve(ServeArgs& args) {
  std::string name = args.served_model_name;
  if (name.empty()) name = std::filesystem::path(args.model).lexically_normal().filename();
  if (name.empty()) name = std::filesystem::path(args.model).parent_path().filename();
  std::optional<ChatTemplate> chat = load_chat_template(args.model);

  ::signal(SIGPIPE, SIG_IGN);  // a client that left is an error value, not a signal

  auto llm = std::make_unique<LLM>(args.model, args.engine);
  const int max_model_len = llm->max_model_len();  // capped by the model's positions
  EngineLoop loop(std::move(llm));
  HttpServer server(loop, ServedModel{name, std::move(chat), max_model_len}, args.server);
  const int port = server.bind();
  std::printf("cascade serve: model '%s' on http://%s:%d\n", name.c_str(), args.server.host.c_str(),
              port);
  std::fflush(stdout);
  const StopOnSignal stopper([&server] { server.stop(); });
  server.serve();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (docs/SERVER.md)");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  cmd->add_option("--host", args->server.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", args->server.port, "port (0: any free port, printed at start)")
      ->capture_default_str();
  cmd->add_option("--served-model-name", args->served_model_name,
                  "the name requests give as 'model' (default: the model folder's name)");
  cmd->add_option("--max-body-bytes", args->server.max_body_bytes,
                  "larger request bodies are refused (413)")
      ->capture_default_str();
  cmd->add_option("--max-concurrent-requests", args->server.max_concurrent_requests,
                  "generation requests in flight; more are refused (429)")
      ->capture_default_str();
  cmd->add_flag("--log-requests", args->server.log_requests, "log each request on stderr");
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace cascade
