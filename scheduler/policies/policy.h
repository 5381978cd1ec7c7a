// SchedulePolicy: decides the order in which waiting requests are considered for admission. The
// batch builder walks the ordered list and admits while memory and token budgets allow; the policy
// never admits, allocates or locks anything itself. Semantics follow SGLang's schedule_policy.py
// (fcfs, lpm, priority); each policy lives in its own file and make_policy() picks one by name.
//
// Thread model: engine thread only; a policy may keep per-step scratch state.
#pragma once

#include <string_view>
#include <vector>

#include "scheduler/request.h"

namespace tandem::scheduler {

class RadixCache;

class SchedulePolicy {
 public:
  virtual ~SchedulePolicy() = default;
  // The name make_policy() accepts for this policy.
  virtual std::string_view name() const = 0;
  // Sorts `waiting` (kQueued requests, any order on entry) into admission order, most deserving
  // first. The result is a deterministic function of the requests and the cache contents. A
  // cache-aware policy may call cache.match_prefix (which touches the LRU clock and may split nodes
  // but caches nothing new) and records the result in each request's prefix-match fields.
  virtual void order(std::vector<Request*>& waiting, RadixCache& cache) = 0;
};

// The order every policy falls back on: earlier arrival first, ties by id (so equal timestamps
// still give one answer). A strict weak ordering.
bool arrives_before(const Request& a, const Request& b);

}  // namespace tandem::scheduler
