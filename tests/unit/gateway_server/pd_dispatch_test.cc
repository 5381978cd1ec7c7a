// PD dispatch through the real WorkerPool and GenerationCall against fake prefill/decode workers
// (in-process gRPC servers speaking SglangScheduler): the pair gets the same request with the
// prefill worker's bootstrap endpoint and one room; the client reads the decode stream; a prefill
// failure before the first token ends the call retryably and cancels the decode call; after the
// first token it is ignored; cancel() reaches both workers.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/client/worker_client.h"
#include "gateway/server/generation_call.h"
#include "gateway/server/worker_pool.h"
#include "sglang_scheduler.grpc.pb.h"

namespace tandem::gateway::server {
namespace {

namespace spb = ::sglang::grpc::scheduler;
namespace asio = boost::asio;
using namespace std::chrono_literals;

// What a fake worker does with Generate.
enum class Behavior {
  kServe,             // decode: one chunk (token 7), then Complete. prefill: one Complete.
  kFailAtOnce,        // UNAVAILABLE before sending anything
  kFailAfterRelease,  // waits for release(), then UNAVAILABLE
  kHang,              // waits until the call is cancelled
  kTransferFailed,    // decode: UNAVAILABLE "kv transfer failed: ..." before sending anything
};

class FakeWorker final : public spb::SglangScheduler::Service {
 public:
  FakeWorker(std::string role, Behavior b, int bootstrap_port = 0)
      : role_(std::move(role)), behavior_(b), bootstrap_port_(bootstrap_port) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    url_ = "127.0.0.1:" + std::to_string(port);
  }
  ~FakeWorker() override {
    release();
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
  }

  const std::string& url() const { return url_; }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<spb::GenerateRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int cancelled() const { return cancelled_.load(); }

  grpc::Status HealthCheck(grpc::ServerContext*, const spb::HealthCheckRequest*,
                           spb::HealthCheckResponse* r) override {
    r->set_healthy(true);
    return grpc::Status::OK;
  }
  grpc::Status GetLoads(grpc::ServerContext*, const spb::GetLoadsRequest*, spb::GetLoadsResponse* r) override {
    auto* l = r->add_loads();
    l->set_max_total_num_tokens(1000);
    auto* d = l->mutable_disaggregation();
    d->set_mode(role_);
    d->set_kv_transfer_speed_gb_s(1.5);
    return grpc::Status::OK;
  }
  grpc::Status GetServerInfo(grpc::ServerContext*, const spb::GetServerInfoRequest*,
                             spb::GetServerInfoResponse* r) override {
    if (bootstrap_port_ > 0) {
      (*r->mutable_server_args()->mutable_fields())["disaggregation_bootstrap_port"].set_string_value(
          std::to_string(bootstrap_port_));
    }
    return grpc::Status::OK;
  }
  grpc::Status Generate(grpc::ServerContext* ctx, const spb::GenerateRequest* req,
                        grpc::ServerWriter<spb::GenerateResponse>* w) override {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(*req);
    }
    auto wait = [&](bool until_released) {
      std::unique_lock lock(mu_);
      while (!ctx->IsCancelled() && !(until_released && released_)) cv_.wait_for(lock, 5ms);
    };
    switch (behavior_) {
      case Behavior::kFailAtOnce:
        return {grpc::StatusCode::UNAVAILABLE, "bootstrap failed"};
      case Behavior::kTransferFailed:
        return {grpc::StatusCode::UNAVAILABLE, "kv transfer failed: the prefill worker is silent"};
      case Behavior::kFailAfterRelease:
        wait(true);
        return {grpc::StatusCode::UNAVAILABLE, "peer went away"};
      case Behavior::kHang:
        wait(false);
        ++cancelled_;
        return grpc::Status::CANCELLED;
      case Behavior::kServe:
        break;
    }
    spb::GenerateResponse msg;
    if (role_ == "decode") {
      msg.mutable_chunk()->add_token_ids(7);
      w->Write(msg);
      wait(true);  // the test decides when the stream ends
      if (ctx->IsCancelled()) {
        ++cancelled_;
        return grpc::Status::CANCELLED;
      }
      msg.Clear();
    }
    msg.mutable_complete()->add_output_ids(7);
    msg.mutable_complete()->set_finish_reason("length");
    w->Write(msg);
    return grpc::Status::OK;
  }

 private:
  const std::string role_;
  const Behavior behavior_;
  const int bootstrap_port_;
  std::unique_ptr<grpc::Server> server_;
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;                 // guarded by mu_
  std::vector<spb::GenerateRequest> requests_;  // guarded by mu_
  std::atomic<int> cancelled_{0};
};

// gRPC's callback API (1.51) shares one process-wide completion queue among the channels that use
// it, reference-counted by them. These tests create and drop every channel within milliseconds,
// and about once in 20 runs (more under load) the count's last release raced a gRPC thread:
// "assertion failed: prior > 0" in grpc_cq_internal_unref. One channel that lives as long as the
// test binary (a gateway's channels live as long as its workers) keeps the count above zero.
class CallbackCqAnchor : public ::testing::Environment {
 public:
  void SetUp() override {
    worker_ = std::make_unique<FakeWorker>("decode", Behavior::kServe);
    client_ = client::WorkerClient::connect(worker_->url());
    (void)client_->health_check(std::chrono::milliseconds(2000)).get();  // creates the callback queue
  }
  void TearDown() override {
    client_.reset();
    worker_.reset();
  }

 private:
  std::unique_ptr<FakeWorker> worker_;
  std::unique_ptr<client::WorkerClient> client_;
};
[[maybe_unused]] ::testing::Environment* const kCallbackCqAnchor =
    ::testing::AddGlobalTestEnvironment(new CallbackCqAnchor);

// Polls until the fake worker has received `n` Generate requests (gRPC delivers them on its own
// threads); false after 5 s.
bool wait_for_requests(FakeWorker& w, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (w.requests().size() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

struct Events {
  std::vector<spb::GenerateResponse> messages;
  Status final_status = Status::Ok();
};

class PdDispatchTest : public ::testing::Test {
 protected:
  std::unique_ptr<WorkerPool> make_pool(const std::vector<FakeWorker*>& prefill,
                                        const std::vector<std::optional<uint16_t>>& ports,
                                        const std::vector<FakeWorker*>& decode) {
    GatewayConfig c;
    c.pd = true;
    c.prefill_policy = "round_robin";
    c.decode_policy = "round_robin";
    c.health_timeout = 1000ms;
    for (size_t i = 0; i < prefill.size(); ++i) c.prefill_workers.push_back({prefill[i]->url(), ports[i]});
    for (FakeWorker* d : decode) c.decode_urls.push_back(d->url());
    auto pool = WorkerPool::create(c);
    EXPECT_TRUE(pool.ok()) << pool.status().to_string();
    (*pool)->start();
    // Healthy, and every prefill worker asked for its bootstrap port.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (const auto& w : (*pool)->workers()) all = all && w.health.healthy && w.load.disagg.has_value();
      if (all && (*pool)->workers().size() == prefill.size() + decode.size()) break;
      std::this_thread::sleep_for(20ms);
    }
    return std::move(pool).value();
  }

  // Runs the call's next() loop on a strand until the final status (or `stop_after` messages,
  // then cancel()).
  Events run(CallEvents& events, GenerationCall& call, int stop_after = -1) {
    Events ev;
    auto fut = asio::co_spawn(strand_, [&]() -> asio::awaitable<void> {
      while (true) {
        CallEvent e = (co_await events.next()).event;
        if (auto* st = std::get_if<Status>(&e)) {
          ev.final_status = *st;
          co_return;
        }
        ev.messages.push_back(std::get<spb::GenerateResponse>(e));
        if (static_cast<int>(ev.messages.size()) == stop_after) call.cancel();
      }
    }, asio::use_future);
    EXPECT_EQ(fut.wait_for(20s), std::future_status::ready) << "the call never ended";
    return ev;
  }

  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    guard_.reset();
    io_.stop();
    io_thread_.join();
  }

  spb::GenerateRequest request(const std::string& rid) {
    spb::GenerateRequest r;
    r.set_request_id(rid);
    r.mutable_tokenized()->add_input_ids(1);
    r.mutable_tokenized()->add_input_ids(2);
    r.set_stream(true);
    return r;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  asio::strand<asio::io_context::executor_type> strand_ = asio::make_strand(io_);
  std::thread io_thread_;
};

TEST_F(PdDispatchTest, BothWorkersGetTheSameRequestWithTheBootstrapEndpointAndTheDecodeStreamIsRead) {
  FakeWorker p0("prefill", Behavior::kServe), p1("prefill", Behavior::kServe, /*reported=*/7123);
  FakeWorker d0("decode", Behavior::kServe);
  auto pool = make_pool({&p0, &p1}, {9001, std::nullopt}, {&d0});

  std::set<int32_t> rooms;
  for (int i = 0; i < 2; ++i) {
    auto pick = pool->pick({}, {});
    ASSERT_TRUE(pick.has_value());
    ASSERT_TRUE(pick->prefill.has_value());
    EXPECT_EQ(pick->id, d0.url());
    EXPECT_GE(pick->room.room(), 0);
    rooms.insert(pick->room.room());
    // round_robin over the prefill pool: p0 (configured port) then p1 (the port it reports).
    const bool first = pick->prefill->id == p0.url();
    EXPECT_EQ(pick->prefill->bootstrap_host, "127.0.0.1");
    EXPECT_EQ(pick->prefill->bootstrap_port, first ? 9001 : 7123);

    CallEvents events(strand_);
    GenerationCall call(events, 0);
    call.start(*pick, request("req-" + std::to_string(i)), 10s);
    // The fake decode worker does not wait for its prefill peer (a real one waits for the KV):
    // let the prefill call arrive before the call ends, or its end would cancel it in flight.
    FakeWorker& prefill = first ? p0 : p1;
    ASSERT_TRUE(wait_for_requests(prefill, 1)) << "the prefill worker never got its request";
    d0.release();
    Events ev = run(events, call);
    EXPECT_TRUE(ev.final_status.ok()) << ev.final_status.to_string();
    ASSERT_EQ(ev.messages.size(), 2u);
    EXPECT_TRUE(ev.messages[0].has_chunk());
    EXPECT_TRUE(ev.messages[1].has_complete());
    EXPECT_FALSE(call.prefill_failed());
  }
  EXPECT_EQ(rooms.size(), 2u);
  ASSERT_EQ(d0.requests().size(), 2u);
  for (FakeWorker* p : {&p0, &p1}) {
    ASSERT_EQ(p->requests().size(), 1u);
    const spb::GenerateRequest pr = p->requests()[0];
    spb::GenerateRequest dr;
    for (const auto& r : d0.requests()) {
      if (r.request_id() == pr.request_id()) dr = r;
    }
    EXPECT_EQ(pr.request_id(), dr.request_id());
    EXPECT_EQ(pr.disaggregated_params().bootstrap_room(), dr.disaggregated_params().bootstrap_room());
    EXPECT_EQ(pr.disaggregated_params().bootstrap_port(), dr.disaggregated_params().bootstrap_port());
    EXPECT_EQ(dr.disaggregated_params().bootstrap_host(), "127.0.0.1");
    EXPECT_EQ(pr.tokenized().input_ids_size(), 2);
  }
}

TEST_F(PdDispatchTest, PrefillFailureBeforeTheFirstTokenEndsTheCallAndCancelsDecode) {
  FakeWorker p0("prefill", Behavior::kFailAtOnce, 7000);
  FakeWorker d0("decode", Behavior::kHang);
  auto pool = make_pool({&p0}, {std::nullopt}, {&d0});
  auto pick = pool->pick({}, {});
  ASSERT_TRUE(pick && pick->prefill);
  CallEvents events(strand_);
  GenerationCall call(events, 0);
  call.start(*pick, request("r"), 10s);
  Events ev = run(events, call);
  EXPECT_EQ(ev.final_status.code(), StatusCode::kUnavailable) << ev.final_status.to_string();
  EXPECT_NE(ev.final_status.message().find(p0.url()), std::string::npos) << ev.final_status.to_string();
  EXPECT_TRUE(call.prefill_failed());
  EXPECT_TRUE(ev.messages.empty());
  // The decode worker saw its call cancelled (it frees the KV it reserved for the room).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (d0.cancelled() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(d0.cancelled(), 1);

  // The breaker charge goes to the prefill worker; a retry excluding it still finds the pair
  // (one prefill worker only: prefer_untried falls back to it).
  pool->record_result(*pick, false, call.prefill_failed());
  auto retry = pool->pick({}, {pick->id, pick->prefill->id});
  ASSERT_TRUE(retry && retry->prefill);
  EXPECT_NE(retry->room.room(), pick->room.room()) << "both requests are live: distinct rooms";
}

TEST_F(PdDispatchTest, ADecodeTransferFailureIsChargedToThePrefillWorker) {
  FakeWorker p0("prefill", Behavior::kHang, 7000);
  FakeWorker d0("decode", Behavior::kTransferFailed);
  auto pool = make_pool({&p0}, {std::nullopt}, {&d0});
  auto pick = pool->pick({}, {});
  ASSERT_TRUE(pick && pick->prefill);
  CallEvents events(strand_);
  GenerationCall call(events, 0);
  call.start(*pick, request("r"), 10s);
  Events ev = run(events, call);
  EXPECT_EQ(ev.final_status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(call.prefill_failed());
  // Five such failures open the prefill worker's breaker, not the decode worker's.
  for (int i = 0; i < 5; ++i) pool->record_result(*pick, false, call.prefill_failed());
  for (const auto& w : pool->workers()) {
    EXPECT_EQ(w.breaker, w.spec.role == routing::WorkerRole::kPrefill ? routing::BreakerState::kOpen
                                                                       : routing::BreakerState::kClosed)
        << w.id();
  }
}

TEST_F(PdDispatchTest, PrefillFailureAfterTheFirstTokenIsIgnored) {
  FakeWorker p0("prefill", Behavior::kFailAfterRelease, 7000);
  FakeWorker d0("decode", Behavior::kServe);
  auto pool = make_pool({&p0}, {std::nullopt}, {&d0});
  auto pick = pool->pick({}, {});
  ASSERT_TRUE(pick && pick->prefill);
  CallEvents events(strand_);
  GenerationCall call(events, 0);
  call.start(*pick, request("r"), 10s);
  // Let the decode chunk arrive first, then fail the prefill side, then finish decode.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (p0.requests().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);
  p0.release();
  std::this_thread::sleep_for(100ms);
  d0.release();
  Events ev = run(events, call);
  EXPECT_TRUE(ev.final_status.ok()) << ev.final_status.to_string();
  EXPECT_EQ(ev.messages.size(), 2u);
  EXPECT_FALSE(call.prefill_failed());
}

TEST_F(PdDispatchTest, CancelReachesBothWorkers) {
  FakeWorker p0("prefill", Behavior::kHang, 7000);
  FakeWorker d0("decode", Behavior::kServe);  // sends one chunk, then waits
  auto pool = make_pool({&p0}, {std::nullopt}, {&d0});
  auto pick = pool->pick({}, {});
  ASSERT_TRUE(pick && pick->prefill);
  CallEvents events(strand_);
  GenerationCall call(events, 0);
  call.start(*pick, request("r"), 10s);
  ASSERT_TRUE(wait_for_requests(p0, 1)) << "the prefill worker never got its request";  // before cancelling
  Events ev = run(events, call, /*stop_after=*/1);  // the client goes away after the first token
  EXPECT_EQ(ev.final_status.code(), StatusCode::kCancelled) << ev.final_status.to_string();
  EXPECT_FALSE(call.prefill_failed()) << "our own cancel is no prefill failure";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((p0.cancelled() == 0 || d0.cancelled() == 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(p0.cancelled(), 1);
  EXPECT_EQ(d0.cancelled(), 1);
}

TEST_F(PdDispatchTest, PdPoolsRefuseMixedWorkersAndMixedPoolsRefuseRoles) {
  GatewayConfig pd;
  pd.pd = true;
  auto pool = WorkerPool::create(pd);
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ((*pool)->add_worker("h:1").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*pool)->add_worker("h:1", routing::WorkerRole::kPrefill, 9000).ok());
  EXPECT_FALSE((*pool)->ready()) << "a prefill worker alone is no pair (and none is healthy)";
  GatewayConfig mixed;
  auto mpool = WorkerPool::create(mixed);
  ASSERT_TRUE(mpool.ok());
  EXPECT_EQ((*mpool)->add_worker("h:1", routing::WorkerRole::kDecode).code(), StatusCode::kInvalidArgument);
  GatewayConfig both;
  both.worker_urls = {"h:1"};
  both.decode_urls = {"h:2"};
  EXPECT_EQ(WorkerPool::create(both).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::gateway::server
