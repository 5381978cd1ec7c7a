#include "scheduler/waiting_queue.h"

#include <utility>

#include "common/check.h"
#include "scheduler/policies/policy.h"

namespace tandem::scheduler {

Status WaitingQueue::push(std::unique_ptr<Request> request, TimePoint now) {
  CHECK(request != nullptr, "WaitingQueue::push: null request");
  CHECK(request->state() == RequestState::kQueued,
        "WaitingQueue::push: request '{}' is {}, only queued requests may wait", request->id,
        request_state_name(request->state()));
  if (index_.contains(request->id)) {
    return make_status(StatusCode::kAlreadyExists,
                       "request id '{}' is already waiting; give each request a unique id",
                       request->id);
  }
  request->queued = now;
  Request* raw = request.get();
  order_.push_back(std::move(request));
  Entry entry{std::prev(order_.end()), deadlines_.end()};
  if (auto deadline = raw->waiting_deadline()) entry.deadline = deadlines_.emplace(*deadline, raw);
  index_.emplace(std::string_view(raw->id), entry);
  return Status::Ok();
}

std::unique_ptr<Request> WaitingQueue::take(
    std::unordered_map<std::string_view, Entry>::iterator it) {
  Entry entry = it->second;
  index_.erase(it);
  if (entry.deadline != deadlines_.end()) deadlines_.erase(entry.deadline);
  std::unique_ptr<Request> request = std::move(*entry.pos);
  order_.erase(entry.pos);
  return request;
}

std::unique_ptr<Request> WaitingQueue::remove(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  return take(it);
}

std::vector<std::unique_ptr<Request>> WaitingQueue::expire(TimePoint now) {
  std::vector<std::unique_ptr<Request>> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = index_.find(deadlines_.begin()->second->id);
    CHECK(it != index_.end(), "WaitingQueue: deadline of '{}' has no index entry",
          deadlines_.begin()->second->id);
    std::unique_ptr<Request> request = take(it);
    request->transition(RequestState::kAborted, now);
    request->finish_reason = FinishReason::kWaitingTimeout;
    expired.push_back(std::move(request));
  }
  return expired;
}

std::optional<TimePoint> WaitingQueue::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<Request*> WaitingQueue::requests() const {
  std::vector<Request*> out;
  out.reserve(order_.size());
  for (const auto& request : order_) out.push_back(request.get());
  return out;
}

std::vector<Request*> WaitingQueue::ordered(SchedulePolicy& policy, RadixCache& cache) const {
  std::vector<Request*> out = requests();
  policy.order(out, cache);
  return out;
}

Request* WaitingQueue::find(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : it->second.pos->get();
}

}  // namespace tandem::scheduler
