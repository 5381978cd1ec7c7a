// Engine internals shared by engine.cc (the thread-safe API and the thread) and engine_step.cc (one
// step of the loop). Not for use outside worker/service.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "worker/pd/kv_rows.h"

#include "worker/runtime/model_runner.h"
#include "worker/service/engine.h"

namespace tandem::service {

// Inbox messages, from any thread to the engine thread.
struct AddCommand {
  GenerateInput input;
  EventSink sink;
  scheduler::TimePoint arrival;
};
struct AbortCommand {
  std::string id;  // empty: every live request
  std::string reason;
};
struct FlushCommand {
  std::promise<bool> done;
};
using Command = std::variant<AddCommand, AbortCommand, FlushCommand>;

struct Engine::Impl {
  // One submitted request: its n samples share the sink.
  struct Group {
    GenerateInput input;
    EventSink sink;
    scheduler::TimePoint arrival;
    int32_t open = 0;                // samples without their terminal event yet
    std::vector<int32_t> held_back;  // samples waiting for sample 0's prompt to be cached
    std::string abort_reason;
  };
  // One scheduler request (one sample of a group).
  struct Sample {
    std::shared_ptr<Group> group;
    int32_t index = 0;
    std::unique_ptr<sampling::SequenceSampler> sampler;
    std::vector<sampling::SampleResult> logprobs;  // one per generated token when asked for
    bool want_logprobs = false;
    sampling::FinishReason last_finish = sampling::FinishReason::kNone;  // sampler's last verdict
  };
  // A disaggregated request's transfer, by request id (PD requests have n = 1, so the request id
  // is also the scheduler id). Erased when the request leaves the transfer: prefill after the Ack
  // (or failure), decode once the request is in the scheduler (or failed).
  struct PdRoom {
    enum class Phase {
      kPrealloc,   // decode: waiting for free KV to reserve the prompt's slots
      kBootstrap,  // prefill: waiting for the decode's Reserve; decode: Reserve sent
      kRunning,    // prefill: in the scheduler (max_new_tokens 1), chunks going out
      kAwaitAck,   // prefill: Done sent, the terminal event held until the Ack
      kTransfer,   // decode: KV arriving into the reserved slots
    };
    std::shared_ptr<Group> group;
    int32_t room = 0;
    Phase phase = Phase::kBootstrap;
    int32_t sent = 0;               // prefill: prompt rows sent so far
    std::vector<uint8_t> received;  // decode: per prompt token, whether its rows arrived
    int32_t received_count = 0;
    std::string failure;            // prefill: why the scheduler request is being aborted
    std::optional<EngineEvent> held;  // prefill: the terminal event, delivered at the Ack
  };

  Impl(model::LlamaModel& model, runtime::KvCache& kv, EngineConfig config,
       std::unique_ptr<scheduler::Scheduler> sched);

  // --- engine thread (engine_step.cc) ---
  void loop();
  // One iteration: drain the inbox, then plan/forward/sample/complete if anything is live.
  // Returns false when there was nothing to run.
  bool step();
  // Runs the plan and samples every logit row (sampled[i] owns row i): on the host with each
  // request's sampler, or where the logits are (runner.samples_where_logits_are()).
  std::vector<sampling::SampleResult> forward_and_sample(const scheduler::StepPlan& plan,
                                                         const std::vector<Sample*>& sampled);
  void handle(Command& command, scheduler::TimePoint now);
  void add_group(AddCommand& add);
  void add_sample(const std::shared_ptr<Group>& group, int32_t index, scheduler::TimePoint now);
  void abort_group(const std::string& id, const std::string& reason, scheduler::TimePoint now);
  void release_held_back(Group& group, scheduler::TimePoint now);
  void deliver_results(scheduler::TimePoint now);
  void finish_sample(const std::shared_ptr<Group>& group, EngineEvent event);
  void publish_load(scheduler::TimePoint now, int32_t new_tokens);
  std::string sample_id(const GenerateInput& input, int32_t index) const;
  // Builds the scheduler request and the sampler of one sample (not yet added anywhere).
  std::unique_ptr<scheduler::Request> make_sample(const std::shared_ptr<Group>& group, int32_t index,
                                                  sampling::SamplingParams params, Sample& out);

  // --- engine thread, disaggregation (engine_pd.cc) ---
  bool pd() const { return config.role != EngineRole::kMixed; }
  void pd_add(const std::shared_ptr<Group>& group, scheduler::TimePoint now);
  // Advances every room: reservations, transport state, received KV. Returns true if anything moved.
  bool pd_poll(scheduler::TimePoint now);
  void pd_prefill_poll(const std::string& id, PdRoom& room, scheduler::TimePoint now);
  void pd_decode_poll(const std::string& id, PdRoom& room, scheduler::TimePoint now);
  // Prefill: after the forward, sends the rows of every PD request's new chunk.
  void pd_send_chunks(const scheduler::StepPlan& plan);
  // Prefill: a scheduler result of a PD request. True when handled (held for the Ack or failed).
  bool pd_prefill_result(EngineEvent& event);
  // Aborts the transfer part of a request (client abort / shutdown). True when the request had
  // no scheduler part left to abort (its terminal event was delivered here).
  bool pd_abort(const std::string& id, const std::string& reason, scheduler::TimePoint now);
  // Ends a PD request that never reached (or left) the scheduler with a failure status.
  void pd_fail(const std::string& id, StatusCode code, const std::string& message, scheduler::TimePoint now);
  void pd_finish(const std::string& id, EngineEvent event);

  model::LlamaModel& model;
  runtime::KvCache& kv;
  EngineConfig config;
  std::unique_ptr<scheduler::Scheduler> sched;
  runtime::ModelRunner runner;
  int32_t vocab;
  int32_t context_limit;

  // Engine-thread state.
  std::unordered_map<std::string, std::shared_ptr<Group>> groups;  // by request id
  std::unordered_map<std::string, Sample> samples;                 // by scheduler id
  std::deque<std::pair<scheduler::TimePoint, int32_t>> recent;     // (step end, tokens) for throughput
  struct StepStats {  // for the periodic log line (engine_step.cc)
    scheduler::TimePoint since{};
    int64_t steps = 0, tokens = 0;
    double step_s = 0.0, wait_s = 0.0;
  } stats;
  void log_step_stats(scheduler::TimePoint step_start, scheduler::TimePoint now, int32_t tokens);
  std::vector<kernels::SampleRow> step_rows;  // forward_and_sample's scratch, reused
  std::vector<kernels::LogitEdit> step_edits;
  std::unordered_map<std::string, PdRoom> pd_rooms;                // by request id
  std::deque<std::string> pd_prealloc;                             // decode: FIFO of ids in kPrealloc
  pd::KvLayout pd_layout;                                          // this engine's KV as peers see it
  std::unique_ptr<pd::KvRowIo> kv_io;  // own gather/scatter unless config.kv_rows (tensor parallel)
  pd::KvRowIo& kv_rows() { return config.kv_rows ? *config.kv_rows : *kv_io; }

  // Shared with the API threads.
  mutable std::mutex mu;
  std::condition_variable wake;
  std::deque<Command> inbox;                 // guarded by mu
  std::unordered_set<std::string> live_ids;  // guarded by mu: submitted, no terminal event for all
  EngineLoad load;                           // guarded by mu: snapshot after each step
  bool started = false;                      // guarded by mu
  bool stopping = false;                     // guarded by mu
  bool pd_dirty = false;                     // guarded by mu: the transport reported progress
  std::thread thread;
};

}  // namespace tandem::service
