#include "cli/worker_command.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/model_paths.h"
#include "cli/model_session.h"
#include "common/logging.h"
#include "worker/service/engine.h"
#include "worker/service/worker_server.h"

namespace tandem::cli {

namespace {

struct WorkerOptions {
  std::string model;
  std::string served_model_name;
  std::string host = "127.0.0.1";
  int port = 30001;
  std::string role = "mixed";
  int threads = 0;
  int kv_slots = 16384;
  std::string kv_dtype = "f32";
  int max_running_requests = 64;
  int chunked_prefill_size = 2048;
  std::string schedule_policy = "fcfs";
  int page_size = 1;
  double shutdown_grace_s = 5.0;
  std::string log_level = "info";
};

std::string hf_architecture(const std::string& arch) {
  if (arch == "qwen2") return "Qwen2ForCausalLM";
  if (arch == "qwen3") return "Qwen3ForCausalLM";
  return "LlamaForCausalLM";
}

int run_worker(const WorkerOptions& o) {
  init_logging(o.log_level, "worker");
  if (o.role != "mixed") {
    fmt::print(stderr, "tandem worker: --role {} is not available yet; only 'mixed' serves today\n", o.role);
    return 2;
  }
  // Block the stop signals before any thread starts (threads inherit the mask); the main thread
  // then waits for them with sigwait, so no handler races the engine or gRPC threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto session_or = open_model_session(o.model, o.threads, o.kv_slots, o.kv_dtype);
  if (!session_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", session_or.status().to_string());
    return 1;
  }
  ModelSession& s = **session_or;

  service::EngineConfig config;
  config.scheduler.page_size = o.page_size;
  config.scheduler.policy = o.schedule_policy;
  config.scheduler.limits.max_running_requests = o.max_running_requests;
  config.scheduler.limits.max_prefill_tokens_per_step = o.chunked_prefill_size;
  config.scheduler.eos_token_ids = s.eos_ids;
  config.eos_token_ids = s.eos_ids;
  auto engine_or = service::Engine::create(*s.loaded.model, *s.kv, config);
  if (!engine_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", engine_or.status().to_string());
    return 1;
  }
  service::Engine& engine = **engine_or;
  engine.start();

  const model::ModelConfig& mc = s.loaded.model->config();
  service::WorkerInfo info;
  info.model_path = o.model;
  info.served_model_name = o.served_model_name.empty()
                               ? std::filesystem::path(o.model).filename().replace_extension().string()
                               : o.served_model_name;
  info.tokenizer_path = s.loaded.hf_dir.empty() ? o.model : s.loaded.hf_dir;
  info.model_type = mc.arch;
  info.architectures = {hf_architecture(mc.arch)};
  info.max_context_len = engine.max_context_len();
  info.vocab_size = engine.vocab_size();
  info.eos_token_ids = s.eos_ids;
  info.bos_token_id = s.tokenizer->bos_id().value_or(-1);
  info.pad_token_id = -1;
  info.max_total_num_tokens = s.kv->num_slots();
  info.max_running_requests = o.max_running_requests;
  info.role = o.role;
  info.server_args = {{"model_path", o.model},
                      {"host", o.host},
                      {"port", std::to_string(o.port)},
                      {"role", o.role},
                      {"kv_slots", std::to_string(o.kv_slots)},
                      {"kv_dtype", o.kv_dtype},
                      {"max_running_requests", std::to_string(o.max_running_requests)},
                      {"chunked_prefill_size", std::to_string(o.chunked_prefill_size)},
                      {"schedule_policy", o.schedule_policy},
                      {"page_size", std::to_string(o.page_size)}};

  auto server_or = service::start_worker_server(o.host, o.port, engine, std::move(info));
  if (!server_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", server_or.status().to_string());
    engine.stop();
    return 1;
  }
  service::WorkerServer& server = **server_or;
  fmt::print("tandem worker listening on {}:{} (grpc)\n", o.host, server.port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fmt::print(stderr, "tandem worker: {} received, shutting down (grace {:.1f} s)\n",
             sig == SIGINT ? "SIGINT" : "SIGTERM", o.shutdown_grace_s);
  // Stop accepting; running streams get the grace period, then are cancelled (which aborts their
  // requests); the engine then aborts whatever is left and joins its thread.
  server.shutdown(std::chrono::milliseconds(static_cast<int64_t>(o.shutdown_grace_s * 1000)));
  engine.stop();
  return 0;
}

}  // namespace

void add_worker_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<WorkerOptions>();
  o->model = default_model_path();
  CLI::App* cmd = app.add_subcommand("worker", "Serve a model over SGLang's scheduler gRPC protocol");
  cmd->add_option("--model,-m", o->model, "Model: a .gguf file or a Hugging Face directory")
      ->envname("TANDEM_MODEL")->capture_default_str();
  cmd->add_option("--served-model-name", o->served_model_name, "Name reported to clients (default: file stem)")
      ->envname("TANDEM_SERVED_MODEL_NAME");
  cmd->add_option("--host", o->host, "Address to listen on")->envname("TANDEM_HOST")->capture_default_str();
  cmd->add_option("--port", o->port, "gRPC port (0 = any free port)")->envname("TANDEM_PORT")
      ->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--role", o->role, "mixed | prefill | decode")->envname("TANDEM_ROLE")
      ->check(CLI::IsMember({"mixed", "prefill", "decode"}))->capture_default_str();
  cmd->add_option("--threads", o->threads, "Compute threads (0 = all cores)")->envname("TANDEM_THREADS")
      ->capture_default_str();
  cmd->add_option("--kv-slots", o->kv_slots, "KV cache capacity in tokens")->envname("TANDEM_KV_SLOTS")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kv-dtype", o->kv_dtype, "KV cache element type: f32, f16 or bf16")
      ->envname("TANDEM_KV_DTYPE")->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  cmd->add_option("--max-running-requests", o->max_running_requests, "Most requests decoding at once")
      ->envname("TANDEM_MAX_RUNNING_REQUESTS")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--chunked-prefill-size", o->chunked_prefill_size, "New prompt tokens per step")
      ->envname("TANDEM_CHUNKED_PREFILL_SIZE")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--schedule-policy", o->schedule_policy, "fcfs | lpm | priority")
      ->envname("TANDEM_SCHEDULE_POLICY")->check(CLI::IsMember({"fcfs", "lpm", "priority"}))->capture_default_str();
  cmd->add_option("--page-size", o->page_size, "Radix cache page size in tokens")->envname("TANDEM_PAGE_SIZE")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--shutdown-grace", o->shutdown_grace_s, "Seconds running requests get on SIGTERM")
      ->envname("TANDEM_SHUTDOWN_GRACE")->capture_default_str();
  cmd->add_option("--log-level", o->log_level, "trace|debug|info|warn|error|off")->envname("TANDEM_LOG_LEVEL")
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_worker(*o); });
}

}  // namespace tandem::cli
