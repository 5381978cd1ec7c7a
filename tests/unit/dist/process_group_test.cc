#include <gtest/gtest.h>

#include "tests/unit/dist/collective_checks.h"
#include "worker/runtime/process_group.h"
#include "worker/runtime/thread_group.h"

namespace tandem::runtime {
namespace {

TEST(ThreadGroup, CollectivesAgreeWithTheirDefinitions) {
  for (int n : {1, 2, 3, 4}) {
    ThreadGroupWorld world(n);
    world.run([&](int r) {
      testing::check_collectives(world.group(r));
      testing::check_control(world.channel(r));
    });
  }
}

TEST(Share, SplitsEvenlyWithTheRemainderFirst) {
  // 9 heads over 2 ranks: 5 + 4; 3 KV heads over 2: 2 + 1; every item exactly once.
  EXPECT_EQ(share_of(9, 0, 2).begin, 0);
  EXPECT_EQ(share_of(9, 0, 2).count, 5);
  EXPECT_EQ(share_of(9, 1, 2).begin, 5);
  EXPECT_EQ(share_of(9, 1, 2).count, 4);
  for (int64_t total : {0, 1, 3, 7, 49152}) {
    for (int size : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const Share s = share_of(total, r, size);
        EXPECT_EQ(s.begin, next);
        EXPECT_GE(s.count, total / size);
        EXPECT_LE(s.count, total / size + 1);
        next = s.end();
      }
      EXPECT_EQ(next, total);
    }
  }
}

TEST(InitAddress, ParsesHostPortForms) {
  auto a = parse_init_address("10.0.0.1:29500");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 29500);
  auto b = parse_init_address("node-3.cluster:1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "node-3.cluster");
  auto c = parse_init_address("[fd00::1]:65535");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "fd00::1");
  EXPECT_EQ(c->port, 65535);
}

TEST(InitAddress, RejectsBadValuesWithTheReason) {
  for (const char* bad : {"10.0.0.1", ":29500", "host:", "host:0", "host:65536", "host:12ab", "fd00::1:5",
                          "a b:1", "host:-1"}) {
    auto r = parse_init_address(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find("HOST:PORT"), std::string::npos);
  }
}

}  // namespace
}  // namespace tandem::runtime
