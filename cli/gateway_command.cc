#include "cli/gateway_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

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

namespace {


// `tandem worker` arguments for a serve child: the engine flags, and the role ("" = mixed).
// With tp > 1 the worker is an MPI job (`--tp`), and --threads 0 (all cores) becomes a share of the
// cores per rank, so the ranks do not fight over them.
std::vector<std::string> serve_worker_args(const EngineOptions& e, const std::string& log_level,
                                           const std::string& role, int tp) {
  std::vector<std::string> args = {"worker", "--host", "127.0.0.1", "--port", "0"};
  const int threads = threads_per_rank(e.threads, tp);
  if (tp > 1) args.insert(args.end(), {"--tp", std::to_string(tp)});
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--model", e.model},
           {"--device", e.device},
           {"--threads", std::to_string(threads)},
           {"--kv-slots", std::to_string(e.kv_slots)},
           {"--mem-fraction", fmt::format("{}", e.mem_fraction)},
           {"--kv-dtype", e.kv_dtype},
           {"--max-running-requests", std::to_string(e.max_running_requests)},
           {"--chunked-prefill-size", std::to_string(e.chunked_prefill_size)},
           {"--schedule-policy", e.schedule_policy},
           {"--page-size", std::to_string(e.page_size)},
           {"--context-length", std::to_string(e.context_length)},
           {"--log-level", log_level}}) {
    args.push_back(flag);
    args.push_back(value);
  }
  if (e.disable_radix_cache) args.push_back("--disable-radix-cache");
  if (!role.empty()) args.insert(args.end(), {"--role", role});
  if (role == "prefill") args.insert(args.end(), {"--bootstrap-port", "0"});  // any free port
  return args;
}

}  // namespace

// `tandem serve`: this process is the gateway; the worker is a child process (`tandem worker
// --port 0`), found through the line it prints once it listens. With --pd there are two children,
// `--role prefill --bootstrap-port 0` and `--role decode`, started together; the prefill one's
// listening line also names its bootstrap port, which the gateway passes to the decode side.
// With --tp N each child is `mpirun -np N tandem worker --tp N`; mpirun relays rank 0's listening
// line, and SIGTERM to mpirun stops every rank.
void add_serve_command(CLI::App& app, int& exit_code) {
  struct ServeOptions {
    GatewayOptions gateway;
    EngineOptions engine;
    int tp = 1;
    std::string mpirun = "mpirun";
  };
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Gateway + one worker (--pd: a prefill and a decode worker) on this machine, on the "
               "bundled model by default");
  add_gateway_options(*cmd, o->gateway, /*with_workers=*/false);
  add_engine_options(*cmd, o->engine);
  cmd->add_option("--tp", o->tp, "Tensor-parallel ranks per worker: > 1 starts each worker as `mpirun -np N "
                                 "tandem worker --tp N`")
      ->envname("TANDEM_TP")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--mpirun", o->mpirun, "The mpirun (Open MPI) that starts a --tp > 1 worker")
      ->envname("TANDEM_MPIRUN")->capture_default_str();
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
    gateway::server::GatewayConfig& config = o->gateway.config;
    const bool pd = config.pd;
    std::vector<std::pair<std::string, std::string>> roles;  // {role, label}
    if (pd) {
      roles = {{"prefill", "the prefill worker"}, {"decode", "the decode worker"}};
    } else {
      roles = {{"", "the worker"}};
    }
    std::vector<std::string> launcher;
    if (o->tp > 1) {
      auto l = mpirun_launcher(o->mpirun, o->tp, threads_per_rank(o->engine.threads, o->tp));
      if (!l.ok()) {
        fmt::print(stderr, "tandem serve: {}\n", l.status().to_string());
        exit_code = 2;
        return;
      }
      launcher = std::move(l).value();
    }
    // Both children load the model at once; then each one's address is collected.
    std::vector<std::unique_ptr<ChildProcess>> children;
    for (const auto& [role, label] : roles) {
      auto child = ChildProcess::spawn(serve_worker_args(o->engine, o->gateway.log_level, role, o->tp), label,
                                       launcher);
      if (!child.ok()) {
        fmt::print(stderr, "tandem serve: {}\n", child.status().to_string());
        exit_code = 1;
        return;  // children already started are stopped by their destructors
      }
      children.push_back(std::move(child).value());
    }
    std::vector<std::string> urls;
    for (auto& child : children) {
      StatusOr<std::string> url = child->wait_for_address(kWorkerStartTimeout);
      if (!url.ok()) {
        fmt::print(stderr, "tandem serve: {}\n", url.status().to_string());
        for (auto& c : children) c->request_stop();
        exit_code = 1;
        return;
      }
      urls.push_back(*url);
    }
    if (pd) {
      gateway::server::PrefillWorkerConfig prefill;
      prefill.url = urls[0];
      prefill.bootstrap_port = children[0]->bootstrap_port();  // else asked via GetServerInfo
      config.prefill_workers = {prefill};
      config.decode_urls = {urls[1]};
    } else {
      config.worker_urls = {urls[0]};
    }
    exit_code = serve_gateway(o->gateway, "tandem serve");
    for (auto& child : children) child->request_stop();  // all stop in parallel
    for (auto& child : children) child->terminate(ChildProcess::kDefaultGrace);
  });
}

}  // namespace tandem::cli
