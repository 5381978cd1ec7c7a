// ApproxTree: a radix tree over token ids that approximates what one worker has in its KV cache.
// The gateway cannot see the worker's real radix cache, so it remembers the prompts it sent there:
// a prompt that shares a long prefix with one of them probably hits that worker's cache.
//
// "Approximate" because the worker evicts on its own schedule; this tree forgets entries not
// routed for `ttl` (evict_expired) and keeps at most `max_tokens` tokens (least recently used
// leaves go first), so stale guesses fade.
//
// Invariant: inserting refreshes every node on the path, so a node is never older than any of
// its descendants; eviction removes leaves only and may therefore walk bottom-up.
//
// Thread model: thread-safe (internal mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "gateway/routing/circuit_breaker.h"  // Clock, TimePoint

namespace tandem::gateway::routing {

class ApproxTree {
 public:
  explicit ApproxTree(size_t max_tokens);
  ~ApproxTree();

  // Records `tokens` as cached at `now`, then evicts LRU leaves while over max_tokens.
  void insert(std::span<const int32_t> tokens, TimePoint now);
  // Length of the longest prefix of `tokens` stored in the tree. Does not refresh entries: only
  // routing a request there (insert) means the worker will really hold it.
  size_t match(std::span<const int32_t> tokens) const;
  // Removes entries last used before `cutoff`; returns the number of tokens removed.
  size_t evict_expired(TimePoint cutoff);
  // Tokens stored (sum of edge lengths).
  size_t size() const;

 private:
  struct Node {
    Node* parent = nullptr;
    std::vector<int32_t> key;  // this edge's tokens; empty only for the root
    std::map<int32_t, std::unique_ptr<Node>> children;  // keyed by the child's first token
    TimePoint last_access{};
  };

  // All require mu_ held.
  size_t evict_expired_locked(Node* node, TimePoint cutoff);
  void evict_lru_locked(size_t target);

  const size_t max_tokens_;
  mutable std::mutex mu_;
  Node root_;          // guarded by mu_
  size_t size_ = 0;    // guarded by mu_
};

}  // namespace tandem::gateway::routing
