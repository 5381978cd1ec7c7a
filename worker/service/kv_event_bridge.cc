#include "worker/service/kv_event_bridge.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/check.h"

namespace tandem::service {

KvEventBridge::KvEventBridge(KvEventSource& source, int32_t block_size)
    : source_(source), block_size_(block_size) {
  CHECK(block_size_ >= 1, "KV event block size must be >= 1, got {}", block_size_);
}

int64_t KvEventBridge::block_hash(std::string_view extra_key, std::span<const int32_t> tokens,
                                  size_t end) const {
  // Chained: h(block k) = XXH3(h(block k-1) | tokens of block k), seeded by the namespace.
  uint64_t h = XXH3_64bits(extra_key.data(), extra_key.size());
  for (size_t start = 0; start + block_size_ <= end; start += block_size_) {
    h = XXH3_64bits_withSeed(tokens.data() + start, block_size_ * sizeof(int32_t), h);
  }
  return static_cast<int64_t>(h);
}

void KvEventBridge::on_cache_event(const scheduler::CacheEvent& e) {
  KvCacheEventData ev;
  const size_t len = e.tokens.size();
  const size_t first = len - static_cast<size_t>(e.count);  // first token the event is about
  const size_t b = static_cast<size_t>(block_size_);
  switch (e.kind) {
    case scheduler::CacheEvent::Kind::kCleared:
      ev.kind = KvCacheEventData::Kind::kCleared;
      break;
    case scheduler::CacheEvent::Kind::kStored: {
      ev.kind = KvCacheEventData::Kind::kStored;
      // Whole blocks that end inside the newly stored range; the parent is the block before.
      const size_t start = first / b * b;
      if (start >= b) ev.parent_block_hash = block_hash(e.extra_key, e.tokens, start);
      for (size_t end = start + b; end <= len; end += b) {
        KvBlockInfo blk;
        blk.block_hash = block_hash(e.extra_key, e.tokens, end);
        blk.token_ids.assign(e.tokens.begin() + static_cast<std::ptrdiff_t>(end - b),
                             e.tokens.begin() + static_cast<std::ptrdiff_t>(end));
        blk.block_size = block_size_;
        ev.blocks.push_back(std::move(blk));
      }
      if (ev.blocks.empty()) return;
      break;
    }
    case scheduler::CacheEvent::Kind::kRemoved: {
      ev.kind = KvCacheEventData::Kind::kRemoved;
      // Whole blocks that end inside the removed range are gone.
      for (size_t end = (first / b + 1) * b; end <= len; end += b) {
        ev.removed_hashes.push_back(block_hash(e.extra_key, e.tokens, end));
      }
      if (ev.removed_hashes.empty()) return;
      break;
    }
  }
  source_.publish({std::move(ev)});
}

}  // namespace tandem::service
