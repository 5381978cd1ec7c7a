// "fcfs": first come, first served — arrival order, ties by id. Ignores the cache and priorities.
// Thread model: engine thread only.
#pragma once

#include "scheduler/policies/policy.h"

namespace tandem::scheduler {

class FcfsPolicy final : public SchedulePolicy {
 public:
  std::string_view name() const override { return "fcfs"; }
  void order(std::vector<Request*>& waiting, RadixCache& cache) override;
};

}  // namespace tandem::scheduler
