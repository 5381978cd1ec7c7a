#include "gateway/routing/worker.h"

namespace tandem::gateway::routing {

std::string_view worker_role_name(WorkerRole role) {
  switch (role) {
    case WorkerRole::kMixed: return "mixed";
    case WorkerRole::kPrefill: return "prefill";
    case WorkerRole::kDecode: return "decode";
  }
  return "unknown";
}

StatusOr<WorkerRole> parse_worker_role(std::string_view name) {
  if (name == "mixed") return WorkerRole::kMixed;
  if (name == "prefill") return WorkerRole::kPrefill;
  if (name == "decode") return WorkerRole::kDecode;
  return invalid_argument("unknown worker role '{}': use mixed, prefill or decode", name);
}

}  // namespace tandem::gateway::routing
