#include <gtest/gtest.h>

#include "worker/service/kv_event_source.h"

namespace tandem::service {
namespace {

TEST(KvEventSource, SlowSubscriberIsDroppedAndFlaggedWithoutBlockingOthers) {
  KvEventSource src;
  std::vector<uint64_t> fast_seen;
  size_t slow_queue = 0;
  std::optional<uint64_t> slow_dropped_at;
  src.subscribe([&](const KvEventBatchData& b) { fast_seen.push_back(b.sequence_number); return true; }, {});
  src.subscribe([&](const KvEventBatchData&) { return ++slow_queue <= 2; },  // capacity 2
                [&](uint64_t seq) { slow_dropped_at = seq; });
  for (int i = 0; i < 5; ++i) src.publish({});
  EXPECT_EQ(fast_seen, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  ASSERT_TRUE(slow_dropped_at.has_value());
  EXPECT_EQ(*slow_dropped_at, 3u);
  EXPECT_EQ(slow_queue, 3u);  // never offered anything after it was dropped
  EXPECT_EQ(src.subscriber_count(), 1u);
}

TEST(KvEventSource, UnsubscribeStopsDelivery) {
  KvEventSource src;
  int seen = 0;
  const uint64_t id = src.subscribe([&](const KvEventBatchData&) { ++seen; return true; }, {});
  src.publish({});
  src.unsubscribe(id);
  src.publish({});
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(src.last_sequence_number(), 2u);
}

}  // namespace
}  // namespace tandem::service
