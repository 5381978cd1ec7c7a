#include "cli/worker_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/engine_options.h"
#include "cli/model_session.h"
#include "cli/stop_signals.h"
#include "common/logging.h"
#include "worker/pd/kv_rows.h"
#include "worker/pd/kv_transfer.h"
#include "worker/pd/tp_kv_rows.h"
#include "worker/runtime/nccl_group.h"
#include "worker/runtime/mpi_group.h"
#include "worker/runtime/tp_step.h"
#include "worker/service/engine.h"
#include "worker/service/kv_event_bridge.h"
#include "worker/service/worker_server.h"

namespace tandem::cli {

namespace {

struct WorkerOptions {
  EngineOptions engine;  // --model, --threads, --kv-*, scheduler limits (shared with `generate`)
  std::string served_model_name;
  std::string host = "127.0.0.1";
  int port = 30001;
  std::string role = "mixed";
  // Tensor parallelism: one worker = one MPI job of `tp` ranks (mpirun -np tp tandem worker --tp tp).
  int tp = 1;
  std::string dist_init_addr;  // HOST:PORT of the group's bootstrap root (NCCL); empty = default
  int ep = 1;  // MoE: 1 = every rank runs every expert's share; == tp: experts partitioned
  // Disaggregation (prefill/decode roles). Liveness: a peer silent for kHeartbeatMisses intervals
  // is dead and its transfers fail.
  int bootstrap_port = 8998;  // prefill: the ZeroMQ bootstrap/KV endpoint (SGLang's default port)
  double pd_bootstrap_timeout_s = 30.0;
  double pd_transfer_timeout_s = 30.0;
  double pd_heartbeat_interval_s = 1.0;
  int64_t seed = -1;
  double shutdown_grace_s = 5.0;
  std::string log_level = "info";
};

constexpr int kHeartbeatMisses = 3;

std::string hf_architecture(const std::string& arch) {
  if (arch == "qwen2") return "Qwen2ForCausalLM";
  if (arch == "qwen3") return "Qwen3ForCausalLM";
  if (arch == "qwen2_moe") return "Qwen2MoeForCausalLM";
  if (arch == "qwen3_moe") return "Qwen3MoeForCausalLM";
  if (arch == "mixtral") return "MixtralForCausalLM";
  return "LlamaForCausalLM";
}

// Ranks mpirun started for this process's job (1 when not under mpirun).
int mpi_world_size_from_env() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* s = std::getenv(v)) return std::max(1, std::atoi(s));
  }
  return 1;
}

// The MPI side of a tensor-parallel worker (empty when tp == 1): the channel goes before
// MPI_Finalize (members are destroyed in reverse); the data group lives in the model session.
struct TpRuntime {
  std::unique_ptr<runtime::MpiSession> mpi;
  std::unique_ptr<runtime::ControlChannel> control;
  int rank() const { return mpi ? mpi->rank() : 0; }
  // "cuda" means one GPU per rank: this rank's local rank on its host.
  std::string device(const std::string& d) const {
    return mpi ? runtime::device_for_local_rank(d) : d;
  }
  TpGroupFactory group_factory(const std::string& init_address) {
    if (!mpi) return nullptr;
    // The session owns the group (it must go before the backend it runs on).
    return [this, init_address](kernels::Backend& backend) -> StatusOr<std::unique_ptr<runtime::ProcessGroup>> {
      ASSIGN_OR_RETURN(std::unique_ptr<runtime::ProcessGroup> group,
                       runtime::make_process_group(*mpi, backend, init_address));
      spdlog::info("tensor-parallel group: {} ({} ranks) on {}", group->name(), group->size(), backend.name());
      return group;
    };
  }
};

StatusOr<TpRuntime> start_tp(const WorkerOptions& o) {
  TpRuntime t;
  if (!o.dist_init_addr.empty()) {
    // Checked on every rank before anything is loaded: a typo fails in a second, not after a load.
    RETURN_IF_ERROR(runtime::parse_init_address(o.dist_init_addr).status());
  }
  const int launched = mpi_world_size_from_env();
  if (o.tp == 1) {
    if (o.ep != 1) return invalid_argument("--ep {} needs --tp {} (experts spread over the TP ranks)", o.ep, o.ep);
    if (launched > 1) {
      return invalid_argument("mpirun started {} ranks but --tp is 1; use --tp {} (one worker over {} ranks) or "
                              "mpirun -np 1", launched, launched, launched);
    }
    return t;
  }
  if (o.tp < 1) return invalid_argument("--tp must be at least 1, got {}", o.tp);
  if (o.ep != 1 && o.ep != o.tp) {
    return invalid_argument("--ep {} with --tp {}: expert parallelism spans the tensor-parallel ranks, so --ep is 1 "
                            "or equal to --tp", o.ep, o.tp);
  }
  if (!runtime::launched_by_mpi()) {
    return invalid_argument("--tp {} runs as one MPI job of {} ranks: mpirun -np {} tandem worker --tp {} ... "
                            "(across hosts add --hostfile FILE; as root add --allow-run-as-root)",
                            o.tp, o.tp, o.tp, o.tp);
  }
  ASSIGN_OR_RETURN(t.mpi, runtime::MpiSession::start());
  if (t.mpi->size() != o.tp) {
    return invalid_argument("--tp {} but mpirun started {} ranks; they must match", o.tp, t.mpi->size());
  }
  t.control = t.mpi->control_channel();
  if (!o.dist_init_addr.empty() && o.engine.device == "cpu") {
    spdlog::info("--dist-init-addr {} is not used by the CPU (MPI) group: MPI's own launcher connects the ranks",
                 o.dist_init_addr);
  }
  return t;
}

// Ranks > 0: the shard's forward for every step rank 0 broadcasts, until it says stop.
int run_follower(const WorkerOptions& o, TpRuntime& tp) {
  const EngineOptions& e = o.engine;
  auto session_or = open_model_session(e.model, e.threads, e.kv_slots, e.kv_dtype, tp.device(e.device),
                                       tp.group_factory(o.dist_init_addr), o.ep > 1, e.mem_fraction);
  if (!session_or.ok()) {
    fmt::print(stderr, "tandem worker (tp rank {}): {}\n", tp.rank(), session_or.status().to_string());
    tp.mpi->abort(1);
  }
  ModelSession& s = **session_or;
  spdlog::info("{}", s.loaded.model->shard().summary());
  // Disaggregated transfers move KV rows through every rank (rank 0 runs the transport).
  const model::ModelConfig& config = s.loaded.model->config();
  const model::TpShard& shard = s.loaded.model->shard();
  Status st = runtime::run_tp_follower(*tp.control, *s.loaded.model, *s.kv, [&](const runtime::TpStep& step) {
    return pd::follow_kv_command(step, *s.kv, config, shard, *tp.control);
  });
  if (!st.ok()) {
    fmt::print(stderr, "tandem worker (tp rank {}): {}\n", tp.rank(), st.to_string());
    tp.mpi->abort(1);
  }
  return 0;
}

int run_worker(const WorkerOptions& o) {
  auto tp_or = start_tp(o);
  if (!tp_or.ok()) {
    init_logging(o.log_level, "worker");
    fmt::print(stderr, "tandem worker: {}\n", tp_or.status().to_string());
    // Under mpirun every rank reports the same error; abort so none is left waiting.
    return 1;
  }
  TpRuntime& tp = *tp_or;
  init_logging(o.log_level, tp.mpi ? fmt::format("worker-tp{}", tp.rank()) : std::string("worker"));
  if (Status st = install_stop_signals(); !st.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", st.to_string());
    return 1;
  }
  if (tp.rank() > 0) return run_follower(o, tp);

  const EngineOptions& e = o.engine;
  auto session_or = open_model_session(e.model, e.threads, e.kv_slots, e.kv_dtype, tp.device(e.device),
                                       tp.group_factory(o.dist_init_addr), o.ep > 1, e.mem_fraction);
  if (!session_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", session_or.status().to_string());
    if (tp.mpi) tp.mpi->abort(1);  // the followers may have loaded fine and would wait forever
    return 1;
  }
  ModelSession& s = **session_or;
  // Tensor parallel: every batch goes to the followers before rank 0 runs it; they are released
  // (shutdown) whenever this function returns, after the engine has stopped.
  std::optional<runtime::TpLeader> leader;
  struct ReleaseFollowers {
    std::optional<runtime::TpLeader>& l;
    ~ReleaseFollowers() {
      if (l) l->shutdown();
    }
  } release_followers{leader};
  if (tp.control) {
    leader.emplace(*tp.control);
    spdlog::info("{}", s.loaded.model->shard().summary());
  }

  // Unseeded requests differ run to run, like any serving endpoint; --seed makes them repeatable.
  const uint64_t base_seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  // Radix-cache events reach SubscribeKvEvents streams through the bridge (blocks of the page
  // size, at least 16 tokens so a stream is not one event per token).
  service::KvEventSource kv_events;
  service::KvEventBridge kv_bridge(kv_events, std::max(16, e.page_size));
  service::EngineConfig engine_config = make_engine_config(e, s.eos_ids, base_seed);

  // Disaggregation: the KV transfer of this worker's half (outlives the engine, declared first).
  const model::ModelConfig& model_config = s.loaded.model->config();
  const pd::KvLayout layout = pd::layout_of(*s.kv, model_config.num_kv_heads, model_config.head_dim, e.page_size,
                                            s.loaded.model->shard().size);
  pd::TransferOptions transfer;
  transfer.bootstrap_timeout_s = o.pd_bootstrap_timeout_s;
  transfer.transfer_timeout_s = o.pd_transfer_timeout_s;
  transfer.heartbeat_interval_s = o.pd_heartbeat_interval_s;
  transfer.heartbeat_misses = kHeartbeatMisses;
  std::unique_ptr<pd::PrefillTransport> prefill_transport;
  std::unique_ptr<pd::DecodeTransport> decode_transport;
  if (o.role == "prefill") {
    auto t = pd::make_prefill_transport("zmq", pd::bootstrap_endpoint(o.host, o.bootstrap_port), layout, transfer);
    if (!t.ok()) {
      fmt::print(stderr, "tandem worker: {}\n", t.status().to_string());
      return 1;
    }
    prefill_transport = std::move(*t);
    engine_config.role = service::EngineRole::kPrefill;
    engine_config.prefill_transport = prefill_transport.get();
  } else if (o.role == "decode") {
    auto t = pd::make_decode_transport("zmq", layout, transfer);
    if (!t.ok()) {
      fmt::print(stderr, "tandem worker: {}\n", t.status().to_string());
      return 1;
    }
    decode_transport = std::move(*t);
    engine_config.role = service::EngineRole::kDecode;
    engine_config.decode_transport = decode_transport.get();
  }
  engine_config.cache_events = [&kv_bridge](const scheduler::CacheEvent& ev) {
    kv_bridge.on_cache_event(ev);
  };
  std::unique_ptr<pd::KvRowIo> tp_kv_rows;
  if (leader) {
    engine_config.before_forward = [&leader](const model::ForwardBatch& b) { leader->forward(b); };
    tp_kv_rows = pd::tp_kv_row_io(*s.kv, model_config, s.loaded.model->shard(), *leader, *tp.control);
    engine_config.kv_rows = tp_kv_rows.get();
  }
  auto engine_or = service::Engine::create(*s.loaded.model, *s.kv, std::move(engine_config));
  if (!engine_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", engine_or.status().to_string());
    return 1;
  }
  service::Engine& engine = **engine_or;
  engine.start();

  const model::ModelConfig& mc = model_config;
  service::WorkerInfo info;
  info.model_path = e.model;
  info.served_model_name = o.served_model_name.empty()
                               ? std::filesystem::path(e.model).filename().replace_extension().string()
                               : o.served_model_name;
  info.tokenizer_path = s.loaded.hf_dir.empty() ? e.model : s.loaded.hf_dir;
  info.model_type = mc.arch;
  info.architectures = {hf_architecture(mc.arch)};
  info.max_context_len = engine.max_context_len();
  info.vocab_size = engine.vocab_size();
  info.eos_token_ids = s.eos_ids;
  info.bos_token_id = s.tokenizer->bos_id().value_or(-1);
  info.pad_token_id = -1;
  info.max_total_num_tokens = s.kv->num_slots();
  info.max_running_requests = max_running_requests(e);
  info.role = o.role;
  info.bootstrap_port = prefill_transport ? prefill_transport->port() : 0;
  info.server_args = {{"model_path", e.model},
                      {"host", o.host},
                      {"port", std::to_string(o.port)},
                      {"role", o.role},
                      {"tp_size", std::to_string(o.tp)},
                      {"ep_size", std::to_string(o.ep)},
                      {"threads", std::to_string(e.threads)},
                      {"kv_slots", std::to_string(s.kv->num_slots())},
                      {"kv_dtype", e.kv_dtype},
                      {"max_running_requests", std::to_string(max_running_requests(e))},
                      {"chunked_prefill_size", std::to_string(e.chunked_prefill_size)},
                      {"schedule_policy", e.schedule_policy},
                      {"page_size", std::to_string(e.page_size)},
                      {"disable_radix_cache", e.disable_radix_cache ? "true" : "false"},
                      {"context_length", std::to_string(e.context_length)},
                      {"pd_bootstrap_timeout", fmt::format("{}", o.pd_bootstrap_timeout_s)},
                      {"pd_transfer_timeout", fmt::format("{}", o.pd_transfer_timeout_s)},
                      {"pd_heartbeat_interval", fmt::format("{}", o.pd_heartbeat_interval_s)}};

  service::WorkerServerOptions server_options;
  server_options.kv_events = &kv_events;
  auto server_or = service::start_worker_server(o.host, o.port, engine, std::move(info), server_options);
  if (!server_or.ok()) {
    fmt::print(stderr, "tandem worker: {}\n", server_or.status().to_string());
    engine.stop();
    return 1;
  }
  service::WorkerServer& server = **server_or;
  if (prefill_transport) {
    fmt::print("tandem worker listening on {}:{} (grpc), bootstrap {}:{}\n", o.host, server.port(), o.host,
               prefill_transport->port());
  } else {
    fmt::print("tandem worker listening on {}:{} (grpc)\n", o.host, server.port());
  }
  std::fflush(stdout);

  const int sig = wait_for_stop_signal();
  fmt::print(stderr, "tandem worker: {} received, shutting down (grace {:.1f} s)\n",
             stop_signal_name(sig), o.shutdown_grace_s);
  // Stop accepting; running streams get the grace period, then are cancelled (which aborts their
  // requests); the engine then aborts whatever is left and joins its thread.
  server.shutdown(std::chrono::milliseconds(static_cast<int64_t>(o.shutdown_grace_s * 1000)));
  engine.stop();
  // MoE: how evenly the router spread the tokens (the basis for rebalancing experts).
  if (const std::string report = s.loaded.model->expert_load_report(); !report.empty()) {
    fmt::print(stderr, "{}", report);
  }
  return 0;
}

}  // namespace

void add_worker_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<WorkerOptions>();
  CLI::App* cmd = app.add_subcommand("worker", "Serve a model over SGLang's scheduler gRPC protocol");
  add_engine_options(*cmd, o->engine);
  cmd->add_option("--served-model-name", o->served_model_name, "Name reported to clients (default: file stem)")
      ->envname("TANDEM_SERVED_MODEL_NAME");
  cmd->add_option("--host", o->host, "Address to listen on")->envname("TANDEM_HOST")->capture_default_str();
  cmd->add_option("--port", o->port, "gRPC port (0 = any free port)")->envname("TANDEM_PORT")
      ->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--tp", o->tp,
                  "Tensor-parallel ranks; > 1 runs as one MPI job: mpirun -np N tandem worker --tp N ...")
      ->envname("TANDEM_TP")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--dist-init-addr", o->dist_init_addr,
                  "HOST:PORT where rank 0 bootstraps the device collectives (NCCL); empty = a free port "
                  "chosen at start")
      ->envname("TANDEM_DIST_INIT_ADDR");
  cmd->add_option("--ep", o->ep,
                  "Expert parallelism for MoE models: 1 (each rank runs a share of every expert) or --tp "
                  "(experts partitioned over the ranks, tokens exchanged all-to-all)")
      ->envname("TANDEM_EP")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--role", o->role, "mixed | prefill | decode")->envname("TANDEM_ROLE")
      ->check(CLI::IsMember({"mixed", "prefill", "decode"}))->capture_default_str();
  cmd->add_option("--bootstrap-port", o->bootstrap_port,
                  "Prefill role: ZeroMQ port decode workers reserve KV on and receive it from (0 = any free port)")
      ->envname("TANDEM_BOOTSTRAP_PORT")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--pd-bootstrap-timeout", o->pd_bootstrap_timeout_s,
                  "Seconds a PD request waits for its peer (prefill: the decode's reservation; decode: the "
                  "prefill's acceptance) before failing")
      ->envname("TANDEM_PD_BOOTSTRAP_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--pd-transfer-timeout", o->pd_transfer_timeout_s,
                  "Seconds without transfer progress (decode: no KV chunk or first token; prefill: no "
                  "acknowledgement) before a PD request fails")
      ->envname("TANDEM_PD_TRANSFER_TIMEOUT")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--pd-heartbeat-interval", o->pd_heartbeat_interval_s,
                  "Seconds between PD heartbeats; a peer silent for 3 intervals is dead")
      ->envname("TANDEM_PD_HEARTBEAT_INTERVAL")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", o->seed, "Base seed for requests that bring none (-1: random per run)")
      ->envname("TANDEM_SEED")->capture_default_str();
  cmd->add_option("--shutdown-grace", o->shutdown_grace_s, "Seconds running requests get on SIGINT/SIGTERM")
      ->envname("TANDEM_SHUTDOWN_GRACE")->capture_default_str();
  cmd->add_option("--log-level", o->log_level, "trace|debug|info|warn|error|off")->envname("TANDEM_LOG_LEVEL")
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_worker(*o); });
}

}  // namespace tandem::cli
