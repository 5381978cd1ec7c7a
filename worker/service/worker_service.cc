// WorkerService: Generate and the unary management RPCs. The two auxiliary streams (GetTokenizer,
// SubscribeKvEvents) live in worker_service_streams.cc.
#include "worker/service/worker_service.h"

#include <chrono>
#include <thread>

#include <fmt/chrono.h>
#include <google/protobuf/util/time_util.h>

#include "worker/service/generate_call.h"

namespace tandem::service {

namespace pb = ::sglang::grpc::scheduler;
namespace cpb = ::smg::grpc::common;

namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

grpc::ServerUnaryReactor* done(grpc::CallbackServerContext* context, grpc::Status st = grpc::Status::OK) {
  grpc::ServerUnaryReactor* r = context->DefaultReactor();
  r->Finish(st);
  return r;
}

}  // namespace

WorkerService::WorkerService(EngineApi& engine, WorkerInfo info, KvEventSource* kv_events, size_t kv_queue_capacity)
    : engine_(engine), info_(std::move(info)), kv_events_(kv_events), kv_queue_capacity_(kv_queue_capacity) {}

grpc::ServerWriteReactor<pb::GenerateResponse>* WorkerService::Generate(grpc::CallbackServerContext* context,
                                                                       const pb::GenerateRequest* request) {
  last_receive_timestamp_ = unix_seconds(std::chrono::system_clock::now());
  return new GenerateCall(context, *request, engine_, info_.role);  // deletes itself in OnDone
}

grpc::ServerUnaryReactor* WorkerService::HealthCheck(grpc::CallbackServerContext* context,
                                                     const pb::HealthCheckRequest*, pb::HealthCheckResponse* response) {
  // Healthy = accepting work and the engine answers. No probe generation (SGLang runs one): on a
  // CPU worker it would compete with real traffic, and a stuck engine thread already shows up as
  // requests that never finish, which the gateway's timeouts catch.
  if (shutting_down_) {
    response->set_healthy(false);
    response->set_message("shutting down");
    return done(context);
  }
  const EngineLoad load = engine_.load();
  response->set_healthy(true);
  response->set_message(fmt::format("ok: {} running, {} waiting, {}/{} tokens used", load.running, load.waiting,
                                    load.used_tokens, load.total_tokens));
  return done(context);
}

grpc::ServerUnaryReactor* WorkerService::Abort(grpc::CallbackServerContext* context, const pb::AbortRequest* request,
                                               pb::AbortResponse* response) {
  const std::string reason = request->reason().empty() ? "aborted by client" : request->reason();
  const bool found = engine_.abort(request->request_id(), reason);
  response->set_success(found);
  response->set_message(found ? fmt::format("request '{}' aborted", request->request_id())
                              : fmt::format("no live request with id '{}' (finished already, or never submitted)",
                                            request->request_id()));
  return done(context);
}

grpc::ServerUnaryReactor* WorkerService::GetModelInfo(grpc::CallbackServerContext* context,
                                                      const pb::GetModelInfoRequest*, pb::GetModelInfoResponse* r) {
  r->set_model_path(info_.model_path);
  r->set_tokenizer_path(info_.tokenizer_path);
  r->set_is_generation(true);
  r->set_served_model_name(info_.served_model_name);
  r->set_max_context_length(info_.max_context_len);
  r->set_vocab_size(info_.vocab_size);
  r->set_supports_vision(false);
  r->set_model_type(info_.model_type);
  for (int32_t id : info_.eos_token_ids) r->add_eos_token_ids(id);
  r->set_pad_token_id(info_.pad_token_id);
  r->set_bos_token_id(info_.bos_token_id);
  r->set_max_req_input_len(std::max(0, info_.max_context_len - 1));  // room for at least one new token
  for (const std::string& a : info_.architectures) r->add_architectures(a);
  return done(context);
}

grpc::ServerUnaryReactor* WorkerService::GetServerInfo(grpc::CallbackServerContext* context,
                                                       const pb::GetServerInfoRequest*, pb::GetServerInfoResponse* r) {
  auto& args = *r->mutable_server_args()->mutable_fields();
  for (const auto& [k, v] : info_.server_args) args[k].set_string_value(v);
  // SGLang's names: disaggregation_mode "prefill" | "decode" | "null".
  args["disaggregation_mode"].set_string_value(info_.role == "mixed" ? "null" : info_.role);
  if (info_.role == "prefill") args["disaggregation_bootstrap_port"].set_number_value(info_.bootstrap_port);
  auto& sched = *r->mutable_scheduler_info()->mutable_fields();
  sched["max_total_num_tokens"].set_number_value(info_.max_total_num_tokens);
  sched["max_running_requests"].set_number_value(info_.max_running_requests);
  sched["max_req_input_len"].set_number_value(std::max(0, info_.max_context_len - 1));
  sched["role"].set_string_value(info_.role);
  r->set_active_requests(engine_.live_requests());
  r->set_is_paused(false);
  r->set_last_receive_timestamp(last_receive_timestamp_.load());
  const auto now = std::chrono::system_clock::now();
  r->set_uptime_seconds(std::chrono::duration<double>(now - info_.start_time).count());
  r->set_sglang_version(info_.version);
  r->set_server_type("grpc");
  *r->mutable_start_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(info_.start_time.time_since_epoch()).count());
  r->set_max_total_num_tokens(info_.max_total_num_tokens);
  return done(context);
}

grpc::ServerUnaryReactor* WorkerService::GetLoads(grpc::CallbackServerContext* context,
                                                  const pb::GetLoadsRequest* request, pb::GetLoadsResponse* r) {
  const EngineLoad l = engine_.load();
  r->set_timestamp(fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::time(nullptr))));
  r->set_version(info_.version);
  r->set_dp_rank_count(1);
  // One scheduler: DP rank 0. A filter for another rank selects nothing.
  if (request->has_dp_rank() && request->dp_rank() != 0) return done(context);

  bool all = false, memory = false, queues = false;
  for (const std::string& s : request->include()) {
    all |= s == "all";
    memory |= s == "memory";
    queues |= s == "queues";
  }
  const double usage = l.total_tokens > 0 ? static_cast<double>(l.used_tokens) / l.total_tokens : 0.0;
  pb::SchedulerLoad* s = r->add_loads();
  s->set_dp_rank(0);
  s->set_num_running_reqs(l.running);
  s->set_num_waiting_reqs(l.waiting);
  s->set_num_total_reqs(l.running + l.waiting);
  s->set_num_used_tokens(l.used_tokens);
  s->set_max_total_num_tokens(l.total_tokens);
  s->set_token_usage(usage);
  s->set_gen_throughput(l.gen_throughput);
  s->set_cache_hit_rate(l.cache_hit_rate);
  s->set_utilization(usage);  // KV occupancy: the resource that bounds admission
  s->set_max_running_requests(l.max_running_requests);
  if (all || memory) s->mutable_memory()->set_token_capacity(l.total_tokens);
  if (all || queues) s->mutable_queues()->set_waiting(l.waiting);
  // Always present (like SGLang): mode "null" on a mixed worker.
  pb::DisaggregationMetrics* d = s->mutable_disaggregation();
  d->set_mode(info_.role == "mixed" ? "null" : info_.role);
  if (info_.role == "prefill") {
    d->set_prefill_prealloc_queue_reqs(l.pd_queued);
    d->set_prefill_inflight_queue_reqs(l.pd_inflight);
  } else if (info_.role == "decode") {
    d->set_decode_prealloc_queue_reqs(l.pd_queued);
    d->set_decode_transfer_queue_reqs(l.pd_inflight);
  }
  d->set_kv_transfer_speed_gb_s(l.kv_transfer_speed_gb_s);
  d->set_kv_transfer_latency_ms(l.kv_transfer_latency_ms);

  pb::AggregateMetrics* a = r->mutable_aggregate();
  a->set_total_running_reqs(l.running);
  a->set_total_waiting_reqs(l.waiting);
  a->set_total_reqs(l.running + l.waiting);
  a->set_avg_token_usage(usage);
  a->set_avg_throughput(l.gen_throughput);
  a->set_avg_utilization(usage);
  return done(context);
}

grpc::ServerUnaryReactor* WorkerService::FlushCache(grpc::CallbackServerContext* context,
                                                    const cpb::FlushCacheRequest* request,
                                                    cpb::FlushCacheResponse* response) {
  // The engine refuses while requests are live; with timeout_s > 0 wait that long for idle.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(std::max(0.0f, request->timeout_s()));
  bool ok = engine_.flush_cache();
  while (!ok && std::chrono::steady_clock::now() < deadline && !context->IsCancelled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ok = engine_.flush_cache();
  }
  response->set_success(ok);
  response->set_message(ok ? "cache flushed"
                           : fmt::format("not flushed: {} requests are live; retry when idle or pass timeout_s",
                                         engine_.live_requests()));
  return done(context);
}

StatusOr<std::shared_ptr<const TokenizerBundle>> WorkerService::tokenizer_bundle() {
  std::lock_guard<std::mutex> lk(bundle_mu_);
  if (!bundle_) {
    ASSIGN_OR_RETURN(TokenizerBundle b, build_tokenizer_bundle(info_.tokenizer_path));
    bundle_ = std::make_shared<const TokenizerBundle>(std::move(b));
  }
  return bundle_;
}

}  // namespace tandem::service
