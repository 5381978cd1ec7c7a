// gateway::client::WorkerClient against WorkerService over FakeEngine on a real loopback server.
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "gateway/client/worker_client.h"
#include "sglang_scheduler.pb.h"
#include "tests/support/test_paths.h"
#include "tests/unit/service/fake_engine.h"
#include "worker/service/worker_server.h"

namespace tandem::gateway::client {
namespace {

namespace pb = ::sglang::grpc::scheduler;
using service::testing::FakeEngine;

class WorkerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service::WorkerInfo info;
    info.served_model_name = "m";
    info.tokenizer_path = tandem::testing::default_model_path();
    auto s = service::start_worker_server("127.0.0.1", 0, engine_, info);
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
    client_ = WorkerClient::connect(fmt::format("127.0.0.1:{}", server_->port()));
  }
  void TearDown() override { server_->shutdown(std::chrono::milliseconds(100)); }

  static pb::GenerateRequest request(const std::string& id) {
    pb::GenerateRequest r;
    r.set_request_id(id);
    r.mutable_tokenized()->add_input_ids(1);
    r.set_stream(true);
    return r;
  }

  FakeEngine engine_;
  std::unique_ptr<service::WorkerServer> server_;
  std::unique_ptr<WorkerClient> client_;
};

TEST_F(WorkerClientTest, GenerateDeliversMessagesInOrderThenOk) {
  std::mutex mu;
  std::vector<pb::GenerateResponse> got;
  std::promise<Status> done;
  auto stream = client_->generate(
      request("c1"),
      [&](pb::GenerateResponse&& r) {
        std::lock_guard<std::mutex> lk(mu);
        got.push_back(std::move(r));
      },
      [&](Status st) { done.set_value(st); });
  engine_.wait_submitted(1);
  engine_.emit("c1", service::testing::step(0, {5}));
  engine_.emit("c1", service::testing::terminal(0, {5, 6}, service::FinishReason::kLength, 1));
  Status st = done.get_future().get();
  ASSERT_TRUE(st.ok()) << st.to_string();
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].chunk().token_ids(0), 5u);
  EXPECT_EQ(got[1].chunk().token_ids(0), 6u);
  EXPECT_EQ(got[2].complete().finish_reason(), "length");
}

TEST_F(WorkerClientTest, CancelReachesTheEngineAsAbort) {
  std::promise<Status> done;
  auto stream = client_->generate(request("c2"), [](pb::GenerateResponse&&) {}, [&](Status st) { done.set_value(st); });
  engine_.wait_submitted(1);
  stream->cancel();
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  auto aborted = engine_.wait_aborted(1);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], "c2");
}

TEST_F(WorkerClientTest, UnaryCallsAndErrors) {
  auto health = client_->health_check().get();
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->healthy());
  service::EngineLoad l;
  l.running = 1;
  l.total_tokens = 10;
  engine_.set_load(l);
  auto loads = client_->get_loads({"core"}).get();
  ASSERT_TRUE(loads.ok());
  EXPECT_EQ(loads->loads(0).num_running_reqs(), 1);
  auto info = client_->get_model_info().get();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->served_model_name(), "m");
  auto flush = client_->flush_cache().get();
  ASSERT_TRUE(flush.ok());
  EXPECT_TRUE(flush->success());
  EXPECT_EQ(engine_.flushes(), 1);
  auto abort = client_->abort("zzz").get();
  ASSERT_TRUE(abort.ok());
  EXPECT_FALSE(abort->success());
  // A closed port: the unary future resolves with UNAVAILABLE or DEADLINE_EXCEEDED, never hangs.
  auto dead = WorkerClient::connect("127.0.0.1:1");
  auto r = dead->health_check(std::chrono::milliseconds(500)).get();
  EXPECT_FALSE(r.ok());
}

TEST_F(WorkerClientTest, GetTokenizerVerifiesAndUnzips) {
  auto files = client_->get_tokenizer().get();
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  ASSERT_EQ(files->files.size(), 5u);  // the HF files made from the GGUF, then the GGUF
  EXPECT_EQ(files->files[0].name, "tokenizer.json");
  EXPECT_EQ(files->files[4].name, "tokenizer.gguf");
  EXPECT_EQ(files->files[4].data.substr(0, 4), "GGUF");
}

}  // namespace
}  // namespace tandem::gateway::client
