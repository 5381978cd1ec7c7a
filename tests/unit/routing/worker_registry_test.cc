#include "gateway/routing/worker_registry.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "tests/unit/routing/fake_clock.h"

namespace tandem::gateway::routing {
namespace {

using testing::FakeClock;

WorkerSpec spec(std::string id, WorkerRole role = WorkerRole::kMixed) {
  WorkerSpec s;
  s.id = id;
  s.url = "10.0.0.1:" + std::to_string(30000 + id.size());
  s.model_id = "smollm";
  s.role = role;
  return s;
}

RegistryConfig healthy_config(FakeClock& clock) {
  RegistryConfig c;
  c.health.initially_healthy = true;
  c.clock = clock.fn();
  return c;
}

std::vector<std::string> ids(const std::vector<WorkerSnapshot>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back(w.id());
  return out;
}

TEST(WorkerRegistryTest, AddGetListRemove) {
  FakeClock clock;
  WorkerRegistry r(healthy_config(clock));
  ASSERT_TRUE(r.add(spec("b")).ok());
  ASSERT_TRUE(r.add(spec("a")).ok());
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(ids(r.list()), (std::vector<std::string>{"a", "b"}));
  auto a = r.get("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->spec.model_id, "smollm");
  EXPECT_FALSE(r.get("zzz").has_value());

  ASSERT_TRUE(r.remove("a").ok());
  EXPECT_EQ(r.remove("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(ids(r.list()), (std::vector<std::string>{"b"}));
}

TEST(WorkerRegistryTest, RejectsDuplicatesAndBadSpecs) {
  WorkerRegistry r;
  ASSERT_TRUE(r.add(spec("a")).ok());
  Status dup = r.add(spec("a"));
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("'a'"), std::string::npos) << dup.message();

  WorkerSpec no_url = spec("c");
  no_url.url.clear();
  EXPECT_EQ(r.add(no_url).code(), StatusCode::kInvalidArgument);

  WorkerSpec bad_port = spec("d", WorkerRole::kDecode);
  bad_port.bootstrap_port = 8998;
  EXPECT_EQ(r.add(bad_port).code(), StatusCode::kInvalidArgument);

  WorkerSpec p = spec("p", WorkerRole::kPrefill);
  p.bootstrap_port = 8998;
  EXPECT_TRUE(r.add(p).ok());

  WorkerSpec anonymous = spec("");
  anonymous.url = "h:1";
  ASSERT_TRUE(r.add(anonymous).ok());
  EXPECT_TRUE(r.get("h:1").has_value()) << "id defaults to the url";
}

TEST(WorkerRegistryTest, HealthyFiltersByRoleHealthAndBreaker) {
  FakeClock clock;
  WorkerRegistry r(healthy_config(clock));
  ASSERT_TRUE(r.add(spec("m1")).ok());
  ASSERT_TRUE(r.add(spec("m2")).ok());
  ASSERT_TRUE(r.add(spec("m3")).ok());
  ASSERT_TRUE(r.add(spec("p1", WorkerRole::kPrefill)).ok());
  EXPECT_EQ(ids(r.healthy(WorkerRole::kMixed)), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(ids(r.healthy(WorkerRole::kPrefill)), (std::vector<std::string>{"p1"}));
  EXPECT_TRUE(r.healthy(WorkerRole::kDecode).empty());

  // m2 fails three health checks: unhealthy.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r.mark_health("m2", {.ok = false, .http_status = 503}).ok());
  // m3's breaker opens after five failed requests.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.record_request_result("m3", false).ok());
  EXPECT_EQ(ids(r.healthy(WorkerRole::kMixed)), (std::vector<std::string>{"m1"}));
  EXPECT_EQ(r.get("m3")->breaker, BreakerState::kOpen);
  EXPECT_TRUE(r.get("m3")->health.healthy);

  // After 30 s m3 is half-open and admitted again; m2 needs two passing checks.
  clock.advance(std::chrono::seconds(30));
  ASSERT_TRUE(r.mark_health("m2", {.ok = true, .http_status = 200}).ok());
  EXPECT_EQ(ids(r.healthy(WorkerRole::kMixed)), (std::vector<std::string>{"m1", "m3"}));
  ASSERT_TRUE(r.mark_health("m2", {.ok = true, .http_status = 200}).ok());
  EXPECT_EQ(ids(r.healthy(WorkerRole::kMixed)), (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST(WorkerRegistryTest, WorkersStartUnhealthyByDefault) {
  WorkerRegistry r;
  ASSERT_TRUE(r.add(spec("a")).ok());
  EXPECT_TRUE(r.healthy(WorkerRole::kMixed).empty());
  ASSERT_TRUE(r.mark_health("a", {.ok = true}).ok());
  EXPECT_TRUE(r.healthy(WorkerRole::kMixed).empty());
  ASSERT_TRUE(r.mark_health("a", {.ok = true}).ok());
  EXPECT_EQ(r.healthy(WorkerRole::kMixed).size(), 1u);
  // Two failures are tolerated, a success resets the run.
  ASSERT_TRUE(r.mark_health("a", {.ok = false}).ok());
  ASSERT_TRUE(r.mark_health("a", {.ok = false}).ok());
  ASSERT_TRUE(r.mark_health("a", {.ok = true}).ok());
  ASSERT_TRUE(r.mark_health("a", {.ok = false}).ok());
  ASSERT_TRUE(r.mark_health("a", {.ok = false}).ok());
  EXPECT_EQ(r.healthy(WorkerRole::kMixed).size(), 1u);
  EXPECT_EQ(r.get("a")->health.consecutive_failures, 2);
  EXPECT_EQ(r.mark_health("nope", {.ok = true}).code(), StatusCode::kNotFound);
}

TEST(WorkerRegistryTest, FailedHealthCheckIsLoggedWithTheWorkerAddress) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  WorkerRegistry r;
  WorkerSpec s = spec("w");
  s.url = "192.168.7.9:31001";
  ASSERT_TRUE(r.add(s).ok());
  ASSERT_TRUE(r.mark_health("w", {.ok = false, .http_status = 500, .detail = "engine dead"}).ok());
  spdlog::set_default_logger(previous);
  auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("192.168.7.9:31001"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("HTTP 500"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("[warning]"), std::string::npos) << lines[0];
}

TEST(WorkerRegistryTest, LoadAndInFlightTicketsShowInSnapshots) {
  WorkerRegistry r;
  ASSERT_TRUE(r.add(spec("a")).ok());
  ASSERT_TRUE(r.update_load("a", {.running = 3, .waiting = 4, .used_tokens = 100,
                                  .total_tokens = 1000, .cache_hit_rate = 0.5}).ok());
  EXPECT_EQ(r.update_load("b", {}).code(), StatusCode::kNotFound);
  {
    auto t1 = r.begin_request("a");
    ASSERT_TRUE(t1.ok());
    auto t2 = r.begin_request("a");
    ASSERT_TRUE(t2.ok());
    auto snap = r.get("a");
    EXPECT_EQ(snap->in_flight, 2);
    EXPECT_EQ(snap->total_load(), 9);
    EXPECT_EQ(snap->load.total_tokens, 1000);
    InFlightTicket moved = std::move(*t1);
    EXPECT_EQ(r.get("a")->in_flight, 2);
    moved.release();
    EXPECT_FALSE(moved.active());
    EXPECT_EQ(r.get("a")->in_flight, 1);
    // Removing the worker while a ticket is held is safe.
    ASSERT_TRUE(r.remove("a").ok());
  }
  EXPECT_EQ(r.begin_request("a").status().code(), StatusCode::kNotFound);
}

TEST(WorkerRegistryTest, ReadyNeedsAHealthyMixedWorkerOrAPdPair) {
  WorkerRegistry r;  // workers start unhealthy
  EXPECT_FALSE(r.ready());
  ASSERT_TRUE(r.add(spec("p", WorkerRole::kPrefill)).ok());
  ASSERT_TRUE(r.add(spec("d", WorkerRole::kDecode)).ok());
  ASSERT_TRUE(r.add(spec("m")).ok());
  auto pass = [&](const char* id) {
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(r.mark_health(id, {.ok = true}).ok());
  };
  pass("p");
  EXPECT_FALSE(r.ready()) << "prefill alone cannot serve";
  pass("d");
  EXPECT_TRUE(r.ready());
  ASSERT_TRUE(r.remove("d").ok());
  EXPECT_FALSE(r.ready());
  pass("m");  // the unhealthy rest of the fleet does not matter
  EXPECT_TRUE(r.ready());
}

TEST(WorkerRegistryTest, RoleNamesRoundTrip) {
  for (WorkerRole role : {WorkerRole::kMixed, WorkerRole::kPrefill, WorkerRole::kDecode}) {
    auto parsed = parse_worker_role(worker_role_name(role));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, role);
  }
  EXPECT_EQ(parse_worker_role("both").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::gateway::routing
