// WaitingQueue: owns the requests that wait for admission (state kQueued). Keeps them in push
// order, finds one by id in O(1) on average (abort, admission), and expires waiting-timeout
// deadlines in O(k log n) for k expired requests. The admission order is not the queue's business:
// ordered() hands the candidates to a SchedulePolicy, which sorts them.
//
// A queued request's id must not change while it is queued (the index keys view it).
//
// Thread model: engine thread only.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "scheduler/request.h"

namespace tandem::scheduler {

class RadixCache;
class SchedulePolicy;

class WaitingQueue {
 public:
  WaitingQueue() = default;
  WaitingQueue(const WaitingQueue&) = delete;
  WaitingQueue& operator=(const WaitingQueue&) = delete;

  // Takes ownership of a kQueued request and stamps request->queued = now (its waiting deadline
  // counts from here). kAlreadyExists when a request with the same id is queued already (the
  // request is then dropped). CHECKs that the request is non-null and in kQueued.
  Status push(std::unique_ptr<Request> request, TimePoint now = Clock::now());

  // Removes and returns the request with this id (admission or abort), or nullptr when absent.
  // The state is left as is: the caller transitions it.
  std::unique_ptr<Request> remove(std::string_view id);

  // Removes every request whose waiting deadline is <= now, marks it kAborted with
  // FinishReason::kWaitingTimeout, and returns them, earliest deadline first.
  std::vector<std::unique_ptr<Request>> expire(TimePoint now);

  // Earliest waiting deadline in the queue (for the engine's sleep), nullopt when none is set.
  std::optional<TimePoint> next_deadline() const;

  // The queued requests in push order (borrowed pointers, valid until removed).
  std::vector<Request*> requests() const;
  // The queued requests in admission order: requests() sorted by policy.order(..., cache).
  std::vector<Request*> ordered(SchedulePolicy& policy, RadixCache& cache) const;

  Request* find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id) != nullptr; }
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

 private:
  using List = std::list<std::unique_ptr<Request>>;
  using Deadlines = std::multimap<TimePoint, Request*>;
  struct Entry {
    List::iterator pos;
    Deadlines::iterator deadline;  // deadlines_.end() when the request has no waiting timeout
  };
  // Erases the index entries of `it` and returns the owned request.
  std::unique_ptr<Request> take(std::unordered_map<std::string_view, Entry>::iterator it);

  List order_;
  // Keys view the id string inside the owned Request, which never moves while queued.
  std::unordered_map<std::string_view, Entry> index_;
  Deadlines deadlines_;
};

}  // namespace tandem::scheduler
