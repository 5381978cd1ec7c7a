#include <algorithm>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/up_command.h"

namespace tandem::cli {
namespace {

using Args = std::vector<std::string>;

TEST(ListeningAddress, FindsHostAndPortInEitherBanner) {
  EXPECT_EQ(listening_address("tandem worker listening on 127.0.0.1:4321 (grpc)\n"), "127.0.0.1:4321");
  EXPECT_EQ(listening_address("tandem up listening on http://10.0.0.2:80 (OpenAI API under /v1)"),
            "10.0.0.2:80");
  EXPECT_EQ(listening_address("tandem worker listening on 0.0.0.0:9\n"), "127.0.0.1:9");
  EXPECT_EQ(listening_address("loading model..."), "");
  EXPECT_EQ(listening_address("listening on nowhere"), "");
}

TEST(WorkerArgs, FlagsDefaultsSwitchesAndReplicas) {
  YAML::Node w = YAML::Load(R"(
- model: /m.gguf
  kv_slots: 2048
  disable_radix_cache: true
  seed: 0
- threads: 1
  port: 31001
  host: 0.0.0.0
  log_level: debug
  disable_radix_cache: false
)");
  auto args = worker_args_from_yaml(w, "warn");
  ASSERT_TRUE(args.ok()) << args.status().to_string();
  ASSERT_EQ(args->size(), 2u);
  EXPECT_EQ((*args)[0], (Args{"worker", "--model", "/m.gguf", "--kv-slots", "2048",
                              "--disable-radix-cache", "--seed", "0", "--host", "127.0.0.1",
                              "--port", "0", "--log-level", "warn"}));
  EXPECT_EQ((*args)[1], (Args{"worker", "--threads", "1", "--port", "31001", "--host", "0.0.0.0",
                              "--log-level", "debug"}));

  auto three = worker_args_from_yaml(YAML::Load("[{threads: 1, replicas: 3}]"), "info");
  ASSERT_TRUE(three.ok()) << three.status().to_string();
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0], (*three)[2]);
  EXPECT_EQ(std::count((*three)[0].begin(), (*three)[0].end(), "--replicas"), 0);
}

TEST(WorkerArgs, RejectsMalformedSectionsWithTheEntry) {
  for (const char* bad : {"[]", "{model: x}", "[5]", "[{threads: [1, 2]}]", "[{replicas: 0}]",
                          "[{replicas: many}]", "[{replicas: 2, port: 31000}]"}) {
    auto r = worker_args_from_yaml(YAML::Load(bad), "info");
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = worker_args_from_yaml(YAML::Load("[{threads: 1}, {replicas: 2, port: 9}]"), "info");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("workers[1]"), std::string::npos) << r.status().to_string();
  EXPECT_TRUE(worker_args_from_yaml(YAML::Load("[{replicas: 2, port: 0}]"), "info").ok());
  EXPECT_FALSE(worker_args_from_yaml(YAML::Node(), "info").ok());
}

}  // namespace
}  // namespace tandem::cli
