// "priority": higher Request::priority first, then arrival, then id. Ignores the cache.
// preemption_candidates() answers the companion question for the batch builder: when a waiting
// request cannot be admitted for lack of memory, which running requests may give way to it.
//
// Thread model: engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scheduler/policies/policy.h"

namespace tandem::scheduler {

class PriorityPolicy final : public SchedulePolicy {
 public:
  std::string_view name() const override { return "priority"; }
  void order(std::vector<Request*>& waiting, RadixCache& cache) override;
};

// The running requests that `incoming` may preempt, in the order to preempt them: lowest priority
// first, and among equal priorities the newest arrival first (it has done the least work), ties by
// id descending. Only requests whose priority is lower than incoming.priority by MORE than
// `threshold` qualify (threshold 0: strictly lower), so equal priorities never preempt each other.
// The caller preempts from the front until enough memory is free.
std::vector<Request*> preemption_candidates(std::span<Request* const> running,
                                            const Request& incoming, int32_t threshold = 0);

}  // namespace tandem::scheduler
