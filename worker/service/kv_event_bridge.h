// KvEventBridge: turns the radix cache's token-range events (scheduler::CacheEvent) into the
// block events SubscribeKvEvents streams (KvEventSource). Blocks are fixed runs of `block_size`
// tokens counted from the namespace root; a block's hash chains its parent's hash with its tokens
// (and the namespace), so a router rebuilds the same tree from the stream. Only whole blocks are
// reported; a partial tail block is reported once it is complete.
//
// Thread model: engine thread only (the radix cache calls it); KvEventSource::publish is
// thread-safe and never blocks.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "scheduler/radix_cache.h"
#include "worker/service/kv_event_source.h"

namespace tandem::service {

class KvEventBridge {
 public:
  KvEventBridge(KvEventSource& source, int32_t block_size);
  void on_cache_event(const scheduler::CacheEvent& event);

  // The hash of the block ending at tokens[end) (end a multiple of block_size).
  int64_t block_hash(std::string_view extra_key, std::span<const int32_t> tokens, size_t end) const;

 private:
  KvEventSource& source_;
  int32_t block_size_;
};

}  // namespace tandem::service
