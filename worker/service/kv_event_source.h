// KvEventSource: the radix cache's stored / removed / cleared events, fanned out to SubscribeKvEvents
// streams. The engine publishes; each subscriber has its own bounded queue so a slow subscriber
// never blocks the engine: when its queue is full the batch is dropped for it, the subscriber is
// told so (its stream ends with RESOURCE_EXHAUSTED naming the dropped sequence number) and removed.
// Sequence numbers grow by one per published batch, so a client also sees gaps.
//
// No gRPC or protobuf here: the engine links this without the service.
//
// Thread model: every method is thread-safe. publish() never blocks on a subscriber: sinks must
// only enqueue (WorkerService's do).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace tandem::service {

struct KvBlockInfo {
  int64_t block_hash = 0;
  std::vector<int32_t> token_ids;
  int32_t block_size = 0;
};

struct KvCacheEventData {
  enum class Kind { kStored, kRemoved, kCleared };
  Kind kind = Kind::kStored;
  std::vector<KvBlockInfo> blocks;          // kStored
  std::optional<int64_t> parent_block_hash;  // kStored: the block these extend
  std::vector<int64_t> removed_hashes;      // kRemoved
};

struct KvEventBatchData {
  uint64_t sequence_number = 0;
  double timestamp = 0.0;  // seconds since the Unix epoch
  std::vector<KvCacheEventData> events;
};

class KvEventSource {
 public:
  // Returns false when the subscriber cannot take the batch (queue full or stream gone); the
  // source then drops the subscriber and calls `overflow(seq)` once from publish's thread.
  using Sink = std::function<bool(const KvEventBatchData&)>;
  using Overflow = std::function<void(uint64_t dropped_sequence_number)>;

  KvEventSource() = default;
  KvEventSource(const KvEventSource&) = delete;
  KvEventSource& operator=(const KvEventSource&) = delete;

  // Returns an id for unsubscribe().
  uint64_t subscribe(Sink sink, Overflow overflow);
  void unsubscribe(uint64_t id);

  // Engine side: stamps the next sequence number and the time, delivers to every subscriber.
  // Returns the sequence number used.
  uint64_t publish(std::vector<KvCacheEventData> events);

  size_t subscriber_count() const;
  uint64_t last_sequence_number() const;

 private:
  struct Subscriber {
    uint64_t id;
    Sink sink;
    Overflow overflow;
  };
  mutable std::mutex mu_;
  std::vector<Subscriber> subscribers_;  // guarded by mu_
  uint64_t next_id_ = 1;                 // guarded by mu_
  uint64_t sequence_ = 0;                // guarded by mu_
};

}  // namespace tandem::service
