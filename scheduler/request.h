// Request: the scheduler's record of one generation request, from arrival to finish or abort.
// Holds the prompt, sampling parameters, priority, deadlines, the life-cycle state machine,
// output tokens, timing, and the prefix-match result a cache-aware policy left behind.
//
// Thread model: engine thread only. A Request is owned by exactly one place at a time (the waiting
// queue, the running batch, or the finished list) through std::unique_ptr; policies and the batch
// builder borrow raw pointers for the length of one scheduling step.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/sampling/sampling_params.h"

namespace tandem::scheduler {

struct TreeNode;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// Life cycle. Legal moves (anything else CHECK-fails in Request::transition):
//   kQueued     -> kPrefilling (admitted) | kAborted
//   kPrefilling -> kDecoding (prompt done) | kFinished (stopped on the first token) |
//                  kQueued (preempted) | kAborted
//   kDecoding   -> kFinished | kQueued (preempted / retracted) | kAborted
//   kFinished, kAborted: terminal.
enum class RequestState { kQueued, kPrefilling, kDecoding, kFinished, kAborted };

std::string_view request_state_name(RequestState state);
bool is_legal_transition(RequestState from, RequestState to);

// Why a request left the engine. The sampler decides kStop/kLength; the scheduler the others.
enum class FinishReason {
  kNone,            // still running
  kStop,            // EOS or a stop token
  kLength,          // max_new_tokens reached
  kAbort,           // the client cancelled
  kWaitingTimeout,  // waited in the queue longer than waiting_timeout
  kRunningTimeout,  // ran longer than running_timeout since first scheduled
};

std::string_view finish_reason_name(FinishReason reason);

class Request {
 public:
  Request(std::string id, std::vector<int32_t> prompt, sampling::SamplingParams params,
          TimePoint arrival = Clock::now());
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // Identity and inputs (set at construction or by the gateway before queueing).
  std::string id;
  std::vector<int32_t> prompt;
  sampling::SamplingParams params;
  int32_t priority = 0;   // larger = more important (policy "priority", preemption)
  std::string extra_key;  // radix-cache namespace (LoRA id, cache salt); empty = default
  // Optional deadlines. waiting_timeout counts from each entry into the waiting queue (a preempted
  // request gets a fresh wait); running_timeout counts from the first time it was scheduled.
  std::optional<Duration> waiting_timeout;
  std::optional<Duration> running_timeout;

  // Outputs.
  std::vector<int32_t> output;
  FinishReason finish_reason = FinishReason::kNone;

  // Timing. arrival is fixed; the others are set by transition()/append_output()/WaitingQueue.
  TimePoint arrival;
  TimePoint queued;                          // last entry into the waiting queue
  std::optional<TimePoint> first_scheduled;  // first kQueued -> kPrefilling
  std::optional<TimePoint> first_token;      // first append_output
  std::optional<TimePoint> finished;         // entry into kFinished / kAborted
  int32_t preemptions = 0;                   // times sent back to kQueued

  // Prefix-match result, filled by cache-aware policies (lpm) in order(). last_node is NOT locked:
  // it stays valid only until the cache is next mutated by evict/flush, so the batch builder must
  // lock it (or match again) within the same scheduling step.
  int32_t matched_prefix_len = 0;
  TreeNode* last_node = nullptr;
  std::vector<int32_t> prefix_slots;

  RequestState state() const { return state_; }
  bool is_terminal() const {
    return state_ == RequestState::kFinished || state_ == RequestState::kAborted;
  }
  // Moves to `to`; CHECK-fails on an illegal move (a scheduler bug, not bad input). Records
  // first_scheduled, finished and preemptions as a side effect.
  void transition(RequestState to, TimePoint now = Clock::now());
  // Appends one generated token; records first_token on the first one.
  void append_output(int32_t token, TimePoint now = Clock::now());

  // Deadlines; nullopt when the matching timeout is unset (or, for running, not yet scheduled).
  std::optional<TimePoint> waiting_deadline() const;
  std::optional<TimePoint> running_deadline() const;
  bool running_expired(TimePoint now) const;

 private:
  RequestState state_ = RequestState::kQueued;
};

}  // namespace tandem::scheduler
