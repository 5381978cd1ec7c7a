#include "gateway/routing/policies/cache_aware_events.h"

#include <algorithm>
#include <vector>

#include "common/check.h"
#include "gateway/routing/policies/cache_aware.h"

namespace tandem::gateway::routing {

KvEventsCacheAwarePolicy::KvEventsCacheAwarePolicy(CacheAwareConfig config,
                                                   std::shared_ptr<const KvEventIndex> index)
    : config_(config), index_(std::move(index)) {
  CHECK(index_ != nullptr, "cache_aware kv_events mode needs a KvEventIndex");
}

std::optional<size_t> KvEventsCacheAwarePolicy::select(std::span<const WorkerSnapshot> candidates,
                                                       const RouteRequest& request) {
  if (candidates.empty()) return std::nullopt;
  if (auto least = least_loaded_if_imbalanced(candidates, config_)) return least;
  const size_t n = candidates.size();

  std::vector<size_t> matched(n, 0);
  for (size_t i = 0; i < n; ++i) matched[i] = index_->matched_tokens(candidates[i].id(), request.tokens);
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (matched[i] > matched[best] ||
        (matched[i] == matched[best] && candidates[i].total_load() < candidates[best].total_load())) {
      best = i;
    }
  }
  if (matched[best] > 0 && static_cast<double>(matched[best]) >=
                               config_.cache_threshold * static_cast<double>(request.tokens.size())) {
    return best;
  }
  size_t pick = 0;
  size_t pick_blocks = index_->stats(candidates[0].id()).blocks;
  for (size_t i = 1; i < n; ++i) {
    const size_t blocks = index_->stats(candidates[i].id()).blocks;
    const int64_t l = candidates[i].total_load(), lp = candidates[pick].total_load();
    if (l < lp || (l == lp && blocks < pick_blocks)) {
      pick = i;
      pick_blocks = blocks;
    }
  }
  return pick;
}

}  // namespace tandem::gateway::routing
