#include "cli/gateway_command.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/child_process.h"
#include "cli/engine_options.h"
#include "cli/gateway_options.h"
#include "cli/stop_signals.h"
#include "common/logging.h"
#include "gateway/server/gateway_app.h"

namespace tandem::cli {

// Starts the gateway, prints where it listens, serves until SIGINT/SIGTERM, then shuts down
// gracefully. Returns the exit code.
int serve_gateway(GatewayOptions& o, const std::string& banner) {
  auto app_or = gateway::server::GatewayApp::create(o.config);
  if (!app_or.ok()) {
    fmt::print(stderr, "tandem gateway: {}\n", app_or.status().to_string());
    return 2;
  }
  gateway::server::GatewayApp& app = **app_or;
  if (Status st = app.start(); !st.ok()) {
    fmt::print(stderr, "tandem gateway: {}\n", st.to_string());
    return 1;
  }
  const std::string shown_host = o.config.host == "0.0.0.0" ? "127.0.0.1" : o.config.host;
  fmt::print("{} listening on http://{}:{} (OpenAI API under /v1)\n", banner, shown_host, app.port());
  std::fflush(stdout);
  const int sig = wait_for_stop_signal();
  fmt::print(stderr, "{}: {} received, shutting down\n", banner, stop_signal_name(sig));
  app.shutdown();
  return 0;
}

void add_gateway_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GatewayOptions>();
  CLI::App* cmd = app.add_subcommand("gateway", "OpenAI-compatible HTTP gateway over gRPC workers");
  add_gateway_options(*cmd, *o, /*with_workers=*/true);
  cmd->callback([cmd, o, &exit_code] {
    if (Status st = apply_gateway_yaml(*cmd, *o); !st.ok()) {
      fmt::print(stderr, "tandem gateway: {}\n", st.to_string());
      exit_code = 2;
      return;
    }
    init_logging(o->log_level, "gateway");
    if (Status st = install_stop_signals(); !st.ok()) {
      fmt::print(stderr, "tandem gateway: {}\n", st.to_string());
      exit_code = 1;
      return;
    }
    exit_code = serve_gateway(*o, "tandem gateway");
  });
}

// `tandem serve`: this process is the gateway; the worker is a child process (`tandem worker
// --port 0`), found through the line it prints once it listens.
void add_serve_command(CLI::App& app, int& exit_code) {
  struct ServeOptions {
    GatewayOptions gateway;
    EngineOptions engine;
  };
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Gateway + one worker on this machine, on the bundled model by default");
  add_gateway_options(*cmd, o->gateway, /*with_workers=*/false);
  add_engine_options(*cmd, o->engine);
  cmd->callback([cmd, o, &exit_code] {
    if (Status st = apply_gateway_yaml(*cmd, o->gateway); !st.ok()) {
      fmt::print(stderr, "tandem serve: {}\n", st.to_string());
      exit_code = 2;
      return;
    }
    init_logging(o->gateway.log_level, "serve");
    if (Status st = install_stop_signals(); !st.ok()) {
      fmt::print(stderr, "tandem serve: {}\n", st.to_string());
      exit_code = 1;
      return;
    }
    std::vector<std::string> args = {"worker", "--host", "127.0.0.1", "--port", "0"};
    const auto& e = o->engine;
    for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
             {"--model", e.model},
             {"--device", e.device},
             {"--threads", std::to_string(e.threads)},
             {"--kv-slots", std::to_string(e.kv_slots)},
             {"--kv-dtype", e.kv_dtype},
             {"--max-running-requests", std::to_string(e.max_running_requests)},
             {"--chunked-prefill-size", std::to_string(e.chunked_prefill_size)},
             {"--schedule-policy", e.schedule_policy},
             {"--page-size", std::to_string(e.page_size)},
             {"--context-length", std::to_string(e.context_length)},
             {"--log-level", o->gateway.log_level}}) {
      args.push_back(flag);
      args.push_back(value);
    }
    if (e.disable_radix_cache) args.push_back("--disable-radix-cache");
    auto child = ChildProcess::spawn(std::move(args), "the worker");
    std::optional<StatusOr<std::string>> worker_url;
    if (child.ok()) worker_url = (*child)->wait_for_address(kWorkerStartTimeout);
    if (!child.ok() || !worker_url->ok()) {
      fmt::print(stderr, "tandem serve: {}\n",
                 (child.ok() ? worker_url->status() : child.status()).to_string());
      exit_code = 1;
      return;
    }
    o->gateway.config.worker_urls = {**worker_url};
    exit_code = serve_gateway(o->gateway, "tandem serve");
    (*child)->terminate(ChildProcess::kDefaultGrace);
  });
}

}  // namespace tandem::cli
