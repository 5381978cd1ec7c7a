#include "scheduler/policies/policy_factory.h"

#include <fmt/format.h>

#include "scheduler/policies/fcfs_policy.h"
#include "scheduler/policies/lpm_policy.h"
#include "scheduler/policies/priority_policy.h"

namespace tandem::scheduler {

const std::vector<std::string_view>& policy_names() {
  static const std::vector<std::string_view> kNames = {"fcfs", "lpm", "priority"};
  return kNames;
}

StatusOr<std::unique_ptr<SchedulePolicy>> make_policy(std::string_view name) {
  if (name == "fcfs") return std::unique_ptr<SchedulePolicy>(std::make_unique<FcfsPolicy>());
  if (name == "lpm") return std::unique_ptr<SchedulePolicy>(std::make_unique<LpmPolicy>());
  if (name == "priority") {
    return std::unique_ptr<SchedulePolicy>(std::make_unique<PriorityPolicy>());
  }
  return invalid_argument("unknown scheduling policy '{}': valid names are {}", name,
                          fmt::join(policy_names(), ", "));
}

}  // namespace tandem::scheduler
