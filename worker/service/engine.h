// Engine: one worker's generation engine — the scheduler, the KV pool and the model runner driven by
// one engine thread. Other threads (the gRPC service, the CLI) talk to it only through submit(),
// abort(), abort_all(), flush_cache() and load(), which enqueue into the inbox; results come back as
// EngineEvents through each request's sink (the outbox edge).
//
// Loop, one iteration per step: drain the inbox (adds, aborts, flushes) → scheduler.plan_step →
// model runner forward → sample each logit row with the request's SequenceSampler →
// scheduler.complete_step → deliver token and terminal events. Planning (CPU) and the forward are
// separate calls so a device backend can plan step N+1 while step N runs; on CPU they alternate.
//
// Parallel sampling (n > 1): the n samples are n scheduler requests ("<id>#<i>", events carry
// index i). Sample 0 runs first; the others are queued once its prompt is prefilled and in the
// radix cache, so they reuse the prompt's KV instead of recomputing it.
//
// Thread model: every public method is thread-safe unless it says otherwise. Sinks are called on
// the engine thread and must not block (push into a queue and return).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/scheduler.h"
#include "worker/model/llama_model.h"
#include "worker/pd/kv_transfer.h"
#include "worker/runtime/kv_cache.h"
#include "worker/sampling/sampling_params.h"
#include "worker/sampling/sequence_sampler.h"

namespace tandem::pd {
class KvRowIo;  // worker/pd/kv_rows.h
}

namespace tandem::service {

using scheduler::Clock;
using scheduler::Duration;
using scheduler::FinishReason;

// What this engine does with a request. Mixed: everything. Prefill / decode: one half of a
// disaggregated pair (worker/pd/); such an engine serves only requests that carry PD parameters.
enum class EngineRole { kMixed, kPrefill, kDecode };
std::string_view engine_role_name(EngineRole role);  // "mixed" | "prefill" | "decode"

struct EngineConfig {
  scheduler::SchedulerConfig scheduler;
  EngineRole role = EngineRole::kMixed;
  // The KV transfer of a prefill (resp. decode) engine; must outlive the engine. Only the one of
  // `role` is used (and required).
  pd::PrefillTransport* prefill_transport = nullptr;
  pd::DecodeTransport* decode_transport = nullptr;
  // How transfers read and write KV rows; null = this engine's own cache (pd::local_kv_row_io). A
  // tensor-parallel worker passes one that spans its ranks. Must outlive the engine.
  pd::KvRowIo* kv_rows = nullptr;
  std::vector<int32_t> eos_token_ids;  // the model's end ids (also given to the scheduler)
  uint64_t base_seed = 0;              // seeds requests that bring none (mixed with the request id)
  int32_t max_n = 64;                  // largest accepted n (parallel samples per request)
  // Defaults for requests that set no timeout of their own (nullopt: none).
  std::optional<Duration> waiting_timeout;
  std::optional<Duration> running_timeout;
  // CHECK the scheduler's slot accounting after every step (tests, debug runs).
  bool check_invariants = false;
  // Radix-cache events (stored / removed / cleared), called on the engine thread; must not block.
  // The worker feeds them to SubscribeKvEvents through a KvEventBridge.
  std::function<void(const scheduler::CacheEvent&)> cache_events;
  // Called on the engine thread with each batch just before its forward (tensor parallel: rank 0
  // broadcasts it to the other ranks).
  std::function<void(const model::ForwardBatch&)> before_forward;
};

// Where a disaggregated request's other half runs (the gateway's bootstrap parameters).
struct PdParams {
  std::string bootstrap_host;  // the prefill worker's bootstrap endpoint
  int32_t bootstrap_port = 0;
  int32_t bootstrap_room = 0;  // unique among live requests; names the transfer on both sides
};

struct GenerateInput {
  std::string id;  // unique among live requests
  std::optional<PdParams> pd;  // required by prefill/decode engines, refused by mixed ones
  std::vector<int32_t> prompt;
  sampling::SamplingParams params;  // logprobs: params.return_logprob / params.top_logprobs
  int32_t n = 1;
  int32_t priority = 0;
  std::string extra_key;  // radix-cache namespace (adapter id, cache salt)
  std::optional<Duration> waiting_timeout;
  std::optional<Duration> running_timeout;
};

// One message to a request's sink. Non-terminal events carry the tokens sampled in one step (one
// token per step today); the terminal event (finish != kNone) carries the whole output, its
// logprobs, the usage counts and timings. Every (id, index) gets exactly one terminal event.
struct EngineEvent {
  std::string id;
  int32_t index = 0;  // which of the n samples
  std::vector<int32_t> tokens;
  std::vector<sampling::SampleResult> logprobs;  // parallel to tokens when logprobs were asked for

  // Terminal fields.
  FinishReason finish = FinishReason::kNone;
  // Not kOk: the request failed as a whole (a PD transfer failed: kUnavailable with error
  // "kv transfer failed: ..."); nothing else of this event is meaningful and the stream should end
  // with this status. Such a request streamed nothing before.
  StatusCode status = StatusCode::kOk;
  std::string error;  // why, for kAbort / timeouts ("aborted by client", "waited 5.0 s ...")
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_tokens = 0;
  int32_t retractions = 0;  // times the request was retracted under KV pressure and resumed
  std::optional<int32_t> matched_stop_token;  // the EOS/stop id that ended a kStop request
  Duration e2e_latency{};
  std::optional<Duration> time_to_first_token;

  bool terminal() const { return finish != FinishReason::kNone; }
};

using EventSink = std::function<void(EngineEvent&&)>;

// What GetLoads reports (SGLang's SchedulerLoad core fields).
struct EngineLoad {
  int32_t running = 0;
  int32_t waiting = 0;  // queued in the scheduler + not yet drained from the inbox
  int32_t used_tokens = 0;
  int32_t total_tokens = 0;
  int32_t free_tokens = 0;  // slots in the pool's free list (cached slots are not free)
  int32_t cached_tokens = 0;
  double cache_hit_rate = 0.0;
  double gen_throughput = 0.0;  // generated tokens / s over the last few seconds
  int32_t max_running_requests = 0;
  uint64_t steps = 0;
  uint64_t generated_tokens = 0;
  // Disaggregation (zero in mixed mode). Prefill: requests waiting for their decode's Reserve /
  // requests computing or waiting for the decode's Ack. Decode: requests waiting for free KV (the
  // pre-allocation queue) / requests whose KV is arriving. pd_queued (and on decode pd_inflight) count in `waiting` too.
  int32_t pd_queued = 0;
  int32_t pd_inflight = 0;
  double kv_transfer_speed_gb_s = 0.0;
  double kv_transfer_latency_ms = 0.0;
};

// What the gRPC service needs from an engine. Engine implements it; service unit tests may use a
// clearly named test double. Every method is thread-safe.
class EngineApi {
 public:
  virtual ~EngineApi() = default;
  // Validates synchronously (prompt non-empty, ids inside the vocabulary, sampling params, n,
  // prompt + max_new_tokens within the context limit, id not live) and queues the request. On an
  // error nothing is queued and the sink is never called: kInvalidArgument, kAlreadyExists,
  // kUnavailable once stopped.
  virtual Status submit(GenerateInput input, EventSink sink) = 0;
  // Aborts every sample of a live request, at whatever stage; each gets one terminal kAbort event.
  // False when no live request has this id.
  virtual bool abort(const std::string& id, std::string reason = "aborted by client") = 0;
  // Aborts every live request; returns how many there were.
  virtual int32_t abort_all(std::string reason = "aborted: abort-all") = 0;
  // Drops every unused radix-cache entry. Like SGLang, refused (false) while requests are live.
  // Blocks until the engine thread did it: never call from a sink.
  virtual bool flush_cache() = 0;
  virtual EngineLoad load() const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t max_context_len() const = 0;  // prompt + max_new_tokens limit
  virtual int32_t live_requests() const = 0;
};

class Engine final : public EngineApi {
 public:
  // The model and the KV cache must outlive the engine. kInvalidArgument for a bad scheduler config.
  static StatusOr<std::unique_ptr<Engine>> create(model::LlamaModel& model, runtime::KvCache& kv,
                                                  EngineConfig config);
  ~Engine() override;  // stop()s
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the engine thread. Call once.
  void start();
  // Aborts every live request (each gets its terminal event), then joins the engine thread.
  // Idempotent; submit() fails afterwards.
  void stop();

  Status submit(GenerateInput input, EventSink sink) override;
  bool abort(const std::string& id, std::string reason = "aborted by client") override;
  int32_t abort_all(std::string reason = "aborted: abort-all") override;
  bool flush_cache() override;
  EngineLoad load() const override;
  int32_t vocab_size() const override;
  int32_t max_context_len() const override;
  int32_t live_requests() const override;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::service
