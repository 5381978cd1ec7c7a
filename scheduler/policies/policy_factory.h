// make_policy: builds a SchedulePolicy from its configuration name ("fcfs", "lpm", "priority").
// Thread model: any thread (the policy it returns is then engine-thread only).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scheduler/policies/policy.h"

namespace tandem::scheduler {

// The names make_policy accepts, in the order error messages list them.
const std::vector<std::string_view>& policy_names();

// kInvalidArgument naming the bad value and the valid names when `name` is unknown.
StatusOr<std::unique_ptr<SchedulePolicy>> make_policy(std::string_view name);

}  // namespace tandem::scheduler
