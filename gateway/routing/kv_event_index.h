// KvEventIndex: which KV blocks each worker holds, exactly, from the worker's radix-cache events
// (SubscribeKvEvents: stored / removed / cleared block hashes).
//
// A block is `block_size` tokens (the worker says how many in each stored block; Tandem workers
// use max(16, page size)). Its hash is chained over the prefix, the same function the worker's
// KvEventBridge uses: h0 = XXH3_64(extra_key); h_k = XXH3_64_withSeed(tokens of block k, h_{k-1}).
// So the prompt's k-th block hash names "this whole prefix up to block k", and the number of
// leading prompt blocks a worker holds is the length of its cached prefix, in blocks.
//
// Events can be missed (the gateway subscribed late, the stream broke): a worker's stream
// re-subscribing calls reset(worker) first, so stale knowledge only ever under-claims a cache.
//
// Thread model: thread-safe (one mutex). apply() runs on gRPC threads, match() on request threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace tandem::gateway::routing {

// Chained block hashes of the whole blocks of `tokens`, as KvEventBridge computes them.
std::vector<int64_t> kv_block_hashes(std::span<const int32_t> tokens, int32_t block_size,
                                     std::string_view extra_key = {});

class KvEventIndex {
 public:
  struct Stats {
    size_t blocks = 0;          // blocks the worker holds now
    uint64_t batches = 0;       // event batches applied
    uint64_t last_sequence = 0; // the last batch's sequence number
  };

  // Plain-value events, so tests and the gRPC subscriber share one entry point.
  void stored(std::string_view worker_id, std::span<const int64_t> hashes, int32_t block_size);
  void removed(std::string_view worker_id, std::span<const int64_t> hashes);
  void cleared(std::string_view worker_id);
  // Counts one applied SubscribeKvEvents batch (stats only; the gRPC side converts the events).
  void note_batch(std::string_view worker_id, uint64_t sequence_number);
  // Forgets the worker (it left, or its event stream restarted and may have missed events).
  void reset(std::string_view worker_id);

  // Leading blocks of `tokens` the worker holds, times its block size: the exact cached prefix
  // length in tokens (0 when the worker never reported a block).
  size_t matched_tokens(std::string_view worker_id, std::span<const int32_t> tokens) const;
  Stats stats(std::string_view worker_id) const;

 private:
  struct Worker {
    int32_t block_size = 0;  // 0 until the first stored block says
    std::unordered_set<int64_t> blocks;
    uint64_t batches = 0;
    uint64_t last_sequence = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Worker, std::less<>> workers_;  // guarded by mu_
};

}  // namespace tandem::gateway::routing
