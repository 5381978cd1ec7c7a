// PD configuration of the gateway: --prefill/--decode flags, TANDEM_* variables, YAML (lists of
// strings or {url, bootstrap_port} maps), `tandem up` worker roles, the prefill banner.
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/gateway_options.h"
#include "cli/up_command.h"

namespace tandem::cli {
namespace {

using Args = std::vector<std::string>;

struct Parsed {
  Status status;
  GatewayOptions o;
};

// Parses `argv` as `tandem gateway` would (flags, then the environment, then `yaml`).
Parsed parse(std::vector<std::string> argv, const std::string& yaml = "") {
  CLI::App app;
  Parsed p;
  add_gateway_options(app, p.o, /*with_workers=*/true);
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    p.status = invalid_argument("parse: {}", e.what());
    return p;
  }
  YAML::Node root = yaml.empty() ? YAML::Node() : YAML::Load(yaml);
  p.status = apply_gateway_yaml_map(app, p.o, root, "test.yaml");
  return p;
}

TEST(PrefillEntry, UrlWithOptionalBootstrapPort) {
  auto a = parse_prefill_entry("10.0.0.1:50051");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->url, "10.0.0.1:50051");
  EXPECT_FALSE(a->bootstrap_port.has_value());
  auto b = parse_prefill_entry("10.0.0.1:50051,9000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bootstrap_port, 9000);
  for (const char* bad : {"nohost", "h:1,", "h:1,0", "h:1,70000", "h:1,abc"}) {
    EXPECT_FALSE(parse_prefill_entry(bad).ok()) << bad;
  }
}

TEST(GatewayPdOptions, FlagsTurnOnPdMode) {
  auto p = parse({"--prefill", "h:1,9001", "--prefill", "h:2", "--decode", "h:3,h:4",
                  "--prefill-policy", "round_robin", "--decode-policy", "cache_aware",
                  "--cache-aware-mode", "kv_events"});
  ASSERT_TRUE(p.status.ok()) << p.status.to_string();
  const auto& c = p.o.config;
  EXPECT_TRUE(c.pd);
  ASSERT_EQ(c.prefill_workers.size(), 2u);
  EXPECT_EQ(c.prefill_workers[0].url, "h:1");
  EXPECT_EQ(c.prefill_workers[0].bootstrap_port, 9001);
  EXPECT_FALSE(c.prefill_workers[1].bootstrap_port.has_value());
  EXPECT_EQ(c.decode_urls, (Args{"h:3", "h:4"}));
  EXPECT_EQ(c.prefill_policy, "round_robin");
  EXPECT_EQ(c.decode_policy, "cache_aware");
  EXPECT_EQ(c.cache_aware_mode, "kv_events");
}

TEST(GatewayPdOptions, DefaultsAreMixedWithCacheAwarePrefillAndPowerOfTwoDecode) {
  auto p = parse({});
  ASSERT_TRUE(p.status.ok());
  EXPECT_FALSE(p.o.config.pd);
  EXPECT_EQ(p.o.config.prefill_policy, "cache_aware");
  EXPECT_EQ(p.o.config.decode_policy, "power_of_two");
  EXPECT_EQ(p.o.config.cache_aware_mode, "approx");
  EXPECT_FALSE(parse({"--cache-aware-mode", "exact"}).status.ok());
  EXPECT_TRUE(parse({"--pd"}).o.config.pd) << "an empty PD gateway takes workers via /workers";
}

TEST(GatewayPdOptions, YamlListsOfMapsOrStrings) {
  auto p = parse({}, R"(
prefill:
  - {url: "h:1", bootstrap_port: 9100}
  - url: "h:2"
  - "h:3,9300"
decode: ["h:4", "h:5"]
decode_policy: round_robin
)");
  ASSERT_TRUE(p.status.ok()) << p.status.to_string();
  const auto& c = p.o.config;
  EXPECT_TRUE(c.pd);
  ASSERT_EQ(c.prefill_workers.size(), 3u);
  EXPECT_EQ(c.prefill_workers[0].bootstrap_port, 9100);
  EXPECT_FALSE(c.prefill_workers[1].bootstrap_port.has_value());
  EXPECT_EQ(c.prefill_workers[2].url, "h:3");
  EXPECT_EQ(c.prefill_workers[2].bootstrap_port, 9300);
  EXPECT_EQ(c.decode_urls, (Args{"h:4", "h:5"}));
  EXPECT_EQ(c.decode_policy, "round_robin");

  auto bad = parse({}, "prefill: [{url: 'h:1', bootstrap_port: 0}]");
  EXPECT_FALSE(bad.status.ok());
  EXPECT_NE(bad.status.message().find("bootstrap port"), std::string::npos) << bad.status.to_string();
}

TEST(GatewayPdOptions, FlagsBeatTheEnvironmentWhichBeatsYaml) {
  ::setenv("TANDEM_PREFILL", "e:1,9001 e:2", 1);
  ::setenv("TANDEM_DECODE_POLICY", "random", 1);
  auto env = parse({}, "prefill: ['y:1']\ndecode_policy: round_robin\ndecode: ['y:2']");
  ::unsetenv("TANDEM_PREFILL");
  ::unsetenv("TANDEM_DECODE_POLICY");
  ASSERT_TRUE(env.status.ok()) << env.status.to_string();
  ASSERT_EQ(env.o.config.prefill_workers.size(), 2u);
  EXPECT_EQ(env.o.config.prefill_workers[0].url, "e:1");
  EXPECT_EQ(env.o.config.prefill_workers[0].bootstrap_port, 9001);
  EXPECT_EQ(env.o.config.decode_policy, "random");
  EXPECT_EQ(env.o.config.decode_urls, (Args{"y:2"})) << "unset by flag/env: from YAML";

  auto flag = parse({"--decode-policy", "power_of_two"}, "decode_policy: round_robin");
  ASSERT_TRUE(flag.status.ok());
  EXPECT_EQ(flag.o.config.decode_policy, "power_of_two");
}

TEST(BootstrapBanner, PortFromThePrefillListeningLine) {
  const std::string line = "tandem worker listening on 127.0.0.1:4321 (grpc), bootstrap 127.0.0.1:5555\n";
  EXPECT_EQ(listening_address(line), "127.0.0.1:4321");
  EXPECT_EQ(bootstrap_port_in(line), 5555);
  EXPECT_FALSE(bootstrap_port_in("tandem worker listening on 127.0.0.1:4321 (grpc)\n").has_value());
  EXPECT_FALSE(bootstrap_port_in("bootstrap nowhere").has_value());
}

TEST(UpRoles, PrefillGetsAnEphemeralBootstrapPortAndRolesAreChecked) {
  auto args = worker_args_from_yaml(YAML::Load(R"(
- {role: prefill, replicas: 2}
- {role: prefill, bootstrap_port: 9100}
- {role: decode}
)"), "info");
  ASSERT_TRUE(args.ok()) << args.status().to_string();
  ASSERT_EQ(args->size(), 4u);
  EXPECT_EQ((*args)[0], (Args{"worker", "--role", "prefill", "--bootstrap-port", "0", "--host",
                              "127.0.0.1", "--port", "0", "--log-level", "info"}));
  EXPECT_EQ((*args)[2], (Args{"worker", "--role", "prefill", "--bootstrap-port", "9100", "--host",
                              "127.0.0.1", "--port", "0", "--log-level", "info"}));
  EXPECT_EQ(worker_role_in((*args)[3]), "decode");
  EXPECT_TRUE(check_roles(*args, false).ok());

  for (const char* bad : {"[{role: prefill, replicas: 2, bootstrap_port: 9100}]",
                          "[{role: decode, bootstrap_port: 9100}]", "[{role: both}]"}) {
    EXPECT_FALSE(worker_args_from_yaml(YAML::Load(bad), "info").ok()) << bad;
  }
  auto only_prefill = worker_args_from_yaml(YAML::Load("[{role: prefill}]"), "info");
  ASSERT_TRUE(only_prefill.ok());
  EXPECT_FALSE(check_roles(*only_prefill, false).ok()) << "a PD cluster needs a decode worker";
  auto mixed_and_pd = worker_args_from_yaml(YAML::Load("[{role: prefill}, {role: decode}, {threads: 1}]"), "info");
  ASSERT_TRUE(mixed_and_pd.ok());
  Status st = check_roles(*mixed_and_pd, false);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pairs only"), std::string::npos) << st.to_string();
  auto plain = worker_args_from_yaml(YAML::Load("[{threads: 1, replicas: 2}]"), "info");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(check_roles(*plain, true).ok());
}

}  // namespace
}  // namespace tandem::cli
