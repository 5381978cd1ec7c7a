// RadixCache: prefix cache over token sequences that maps cached tokens to KV-cache slots, so a new
// request reuses the KV of the longest prefix some earlier request already computed. Semantics
// follow SGLang's RadixCache (page-aligned keys, per-namespace trees, lock counts along the path,
// LRU eviction of unlocked leaves); the code is Tandem's own.
//
// Thread model: engine thread only. No method is thread-safe; nothing blocks.
//
// Ownership: each node owns its token key and its slot array (std::vector), copied from the caller
// on insert, never aliasing a caller buffer. The cache returns slots to the pool only through the
// SlotReleaser given at construction (eviction, flush). The destructor releases nothing: the pool
// may be gone by then; call flush() first if the slots must go back.
//
// Paging: every key and slot array length in the tree is a multiple of page_size; lookups and
// inserts use only the page-aligned prefix of their input (a trailing partial page is ignored).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::scheduler {

// Orders child keys (the first page of a child's tokens) so a span can look up a stored vector.
struct PageKeyLess {
  using is_transparent = void;
  bool operator()(std::span<const int32_t> a, std::span<const int32_t> b) const;
};

struct TreeNode {
  TreeNode* parent = nullptr;  // nullptr for a namespace root
  std::map<std::vector<int32_t>, std::unique_ptr<TreeNode>, PageKeyLess> children;
  std::vector<int32_t> key;    // tokens of this edge (empty for a root)
  std::vector<int32_t> slots;  // slots[i] holds the KV of key[i]; same length as key
  int32_t lock_ref = 0;        // locks held on this node or any descendant
  uint64_t last_access = 0;    // logical clock tick of the last match/insert through this node
  uint64_t id = 0;             // creation order: LRU tie-break and CHECK messages; 0 for roots
  const std::string* extra_key = nullptr;  // roots only: the namespace (the roots_ map key)
  bool is_root() const { return parent == nullptr; }
};

struct MatchResult {
  std::vector<int32_t> slots;     // slots of the matched prefix, in token order
  TreeNode* last_node = nullptr;  // deepest matched node (the namespace root when nothing matched)
  int32_t matched = 0;            // == slots.size(), a multiple of page_size
};

// KV events for consumers that mirror the cache (e.g. a router's prefix index). Events describe
// token ranges, not nodes: a split changes no cached token and emits nothing. kStored: the last
// `count` tokens of `tokens` became cached (the rest was cached already). kRemoved: the last
// `count` tokens of `tokens` left the cache (the rest stays). kCleared: the cache is empty.
struct CacheEvent {
  enum class Kind { kStored, kRemoved, kCleared };
  Kind kind;
  std::string_view extra_key;        // namespace (empty for kCleared)
  std::span<const int32_t> tokens;   // full path from the namespace root; valid during the callback
  int32_t count = 0;                 // trailing tokens stored / removed
};

struct CacheStats {
  int64_t lookups = 0;          // match_prefix calls
  int64_t tokens_queried = 0;   // page-aligned tokens looked up
  int64_t tokens_matched = 0;   // of those, found in the cache
};

using SlotReleaser = std::function<void(std::span<const int32_t> slots)>;
using EventSink = std::function<void(const CacheEvent& event)>;

class RadixCache {
 public:
  RadixCache(int32_t page_size, SlotReleaser release);
  ~RadixCache();
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  // Longest cached prefix of `tokens` within namespace extra_key, page-aligned. Touches the LRU
  // clock of every node on the path. Splits a node when the match ends inside it, so last_node
  // covers exactly the matched prefix. Does not lock.
  // record_stats: count this lookup in stats() (the hit rate). Lookups that only re-read what the
  // scheduler already looked up (a policy's ordering pass, re-locking after an insert) pass false,
  // so each admission counts once.
  MatchResult match_prefix(std::span<const int32_t> tokens, std::string_view extra_key = {},
                           bool record_stats = true);

  // Inserts tokens -> slots (equal lengths; only the page-aligned prefix is used). The cache copies
  // and takes ownership of the slots of the newly inserted part. Returns how many leading tokens
  // were ALREADY cached: the caller still owns slots[0, returned) and must release its duplicates
  // (where they differ from the cached ones) itself; slots past the aligned length stay the caller's.
  int32_t insert(std::span<const int32_t> tokens, std::span<const int32_t> slots,
                 std::string_view extra_key = {});

  // Pins node and all its ancestors (lock counts); pinned nodes are never evicted. A root is a no-op.
  void inc_lock(TreeNode* node);
  void dec_lock(TreeNode* node);

  // Evicts unlocked leaves in LRU order (a parent becomes a candidate once its last child goes)
  // until at least num_tokens slots were released or nothing evictable is left. Returns the count.
  int32_t evict(int32_t num_tokens);

  // Drops every unlocked node (locked paths stay). Emits kCleared when the cache ends up empty.
  void flush();

  int32_t page_size() const { return page_size_; }
  int32_t cached_tokens() const { return evictable_tokens_ + locked_tokens_; }
  int32_t evictable_tokens() const { return evictable_tokens_; }
  int32_t locked_tokens() const { return locked_tokens_; }
  int32_t node_count() const { return node_count_; }  // excluding roots
  const CacheStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

  void set_event_sink(EventSink sink) { sink_ = std::move(sink); }

  // CHECKs the structure: key/slot lengths page-aligned and equal, parent links and child keys,
  // lock counts (a node holds at least its children's locks), token counters, and every slot
  // present at most once. O(cached tokens); for tests and debug builds.
  void check_invariants() const;

 private:
  TreeNode* root_for(std::string_view extra_key, bool create);
  // Splits `child` after `len` tokens; returns the new upper node (which keeps child's lock count).
  TreeNode* split(TreeNode* child, int32_t len);
  // Removes a childless unlocked node, releasing its slots. Returns the freed token count.
  int32_t remove_leaf(TreeNode* leaf);
  std::string_view namespace_of(const TreeNode* node) const;
  void emit(CacheEvent::Kind kind, const TreeNode* node);
  int32_t aligned(size_t n) const { return static_cast<int32_t>(n / page_size_) * page_size_; }

  int32_t page_size_;
  SlotReleaser release_;
  EventSink sink_;
  // One tree per namespace; roots live as long as the cache so a MatchResult::last_node that is
  // a root never dangles. An empty extra_key is the default namespace.
  std::map<std::string, std::unique_ptr<TreeNode>, std::less<>> roots_;
  TreeNode empty_root_;  // returned by match_prefix for a namespace that was never inserted into
  uint64_t clock_ = 0;
  uint64_t next_id_ = 1;
  int32_t evictable_tokens_ = 0;
  int32_t locked_tokens_ = 0;
  int32_t node_count_ = 0;
  CacheStats stats_;
};

}  // namespace tandem::scheduler
