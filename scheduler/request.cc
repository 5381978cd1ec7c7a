#include "scheduler/request.h"

#include <utility>

#include "common/check.h"

namespace tandem::scheduler {

std::string_view request_state_name(RequestState state) {
  switch (state) {
    case RequestState::kQueued:
      return "queued";
    case RequestState::kPrefilling:
      return "prefilling";
    case RequestState::kDecoding:
      return "decoding";
    case RequestState::kFinished:
      return "finished";
    case RequestState::kAborted:
      return "aborted";
  }
  return "unknown";
}

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return "none";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kAbort:
      return "abort";
    case FinishReason::kWaitingTimeout:
      return "waiting_timeout";
    case FinishReason::kRunningTimeout:
      return "running_timeout";
  }
  return "unknown";
}

bool is_legal_transition(RequestState from, RequestState to) {
  using S = RequestState;
  switch (from) {
    case S::kQueued:
      return to == S::kPrefilling || to == S::kAborted;
    case S::kPrefilling:
      return to == S::kDecoding || to == S::kFinished || to == S::kQueued || to == S::kAborted;
    case S::kDecoding:
      return to == S::kFinished || to == S::kQueued || to == S::kAborted;
    case S::kFinished:
    case S::kAborted:
      return false;
  }
  return false;
}

Request::Request(std::string id_in, std::vector<int32_t> prompt_in,
                 sampling::SamplingParams params_in, TimePoint arrival_in)
    : id(std::move(id_in)),
      prompt(std::move(prompt_in)),
      params(std::move(params_in)),
      arrival(arrival_in),
      queued(arrival_in) {}

void Request::transition(RequestState to, TimePoint now) {
  CHECK(is_legal_transition(state_, to), "request '{}': illegal state transition {} -> {}", id,
        request_state_name(state_), request_state_name(to));
  if (to == RequestState::kPrefilling && !first_scheduled) first_scheduled = now;
  if (to == RequestState::kQueued) ++preemptions;
  if (to == RequestState::kFinished || to == RequestState::kAborted) finished = now;
  state_ = to;
}

void Request::append_output(int32_t token, TimePoint now) {
  if (output.empty()) first_token = now;
  output.push_back(token);
}

std::optional<TimePoint> Request::waiting_deadline() const {
  if (!waiting_timeout) return std::nullopt;
  return queued + *waiting_timeout;
}

std::optional<TimePoint> Request::running_deadline() const {
  if (!running_timeout || !first_scheduled) return std::nullopt;
  return *first_scheduled + *running_timeout;
}

bool Request::running_expired(TimePoint now) const {
  auto deadline = running_deadline();
  return deadline && now >= *deadline;
}

}  // namespace tandem::scheduler
