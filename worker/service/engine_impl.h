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

  Impl(model::LlamaModel& model, runtime::KvCache& kv, EngineConfig config,
       std::unique_ptr<scheduler::Scheduler> sched);

  // --- engine thread (engine_step.cc) ---
  void loop();
  // One iteration: drain the inbox, then plan/forward/sample/complete if anything is live.
  // Returns false when there was nothing to run.
  bool step();
  void handle(Command& command, scheduler::TimePoint now);
  void add_group(AddCommand& add);
  void add_sample(const std::shared_ptr<Group>& group, int32_t index, scheduler::TimePoint now);
  void abort_group(const std::string& id, const std::string& reason, scheduler::TimePoint now);
  void release_held_back(Group& group, scheduler::TimePoint now);
  void deliver_results(scheduler::TimePoint now);
  void finish_sample(const std::shared_ptr<Group>& group, EngineEvent event);
  void publish_load(scheduler::TimePoint now, int32_t new_tokens);
  std::string sample_id(const GenerateInput& input, int32_t index) const;

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

  // Shared with the API threads.
  mutable std::mutex mu;
  std::condition_variable wake;
  std::deque<Command> inbox;                 // guarded by mu
  std::unordered_set<std::string> live_ids;  // guarded by mu: submitted, no terminal event for all
  EngineLoad load;                           // guarded by mu: snapshot after each step
  bool started = false;                      // guarded by mu
  bool stopping = false;                     // guarded by mu
  std::thread thread;
};

}  // namespace tandem::service
