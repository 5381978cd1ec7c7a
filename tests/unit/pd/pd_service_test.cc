// The gRPC face of a prefill / decode worker: requests without disaggregated_params are refused
// with INVALID_ARGUMENT naming the role (mixed workers refuse them with), the parameters reach the
// engine, a failed KV transfer ends the stream with UNAVAILABLE "kv transfer failed: ..." and no
// Complete, and GetLoads / GetServerInfo report the disaggregation mode and queues.
#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include "sglang_scheduler.grpc.pb.h"
#include "tests/unit/service/fake_engine.h"
#include "worker/service/request_convert.h"
#include "worker/service/worker_server.h"

namespace tandem::service {
namespace {

namespace pb = ::sglang::grpc::scheduler;
using testing::FakeEngine;

pb::GenerateRequest request(const std::string& id, bool with_pd) {
  pb::GenerateRequest r;
  r.set_request_id(id);
  for (uint32_t t : {1u, 2u, 3u}) r.mutable_tokenized()->add_input_ids(t);
  r.mutable_sampling_params()->set_max_new_tokens(8);
  r.set_stream(true);
  if (with_pd) {
    r.mutable_disaggregated_params()->set_bootstrap_host("10.1.2.3");
    r.mutable_disaggregated_params()->set_bootstrap_port(8998);
    r.mutable_disaggregated_params()->set_bootstrap_room(77);
  }
  return r;
}

TEST(PdService, ConversionFollowsTheRole) {
  for (const char* role : {"prefill", "decode"}) {
    StatusOr<GenerateInput> no_pd = to_generate_input(request("a", false), {2048, role});
    ASSERT_FALSE(no_pd.ok());
    EXPECT_EQ(no_pd.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(no_pd.status().message().find(std::string("this worker runs as ") + role), std::string::npos)
        << no_pd.status().message();
    StatusOr<GenerateInput> in = to_generate_input(request("b", true), {2048, role});
    ASSERT_TRUE(in.ok()) << in.status().to_string();
    ASSERT_TRUE(in->pd.has_value());
    EXPECT_EQ(in->pd->bootstrap_host, "10.1.2.3");
    EXPECT_EQ(in->pd->bootstrap_port, 8998);
    EXPECT_EQ(in->pd->bootstrap_room, 77);
  }
  EXPECT_EQ(to_generate_input(request("c", true), {2048, "mixed"}).status().code(), StatusCode::kInvalidArgument);
  StatusOr<GenerateInput> mixed = to_generate_input(request("d", false), {2048, "mixed"});
  ASSERT_TRUE(mixed.ok());
  EXPECT_FALSE(mixed->pd.has_value());
}

class PdServiceServer : public ::testing::Test {
 protected:
  void start(const std::string& role) {
    WorkerInfo info;
    info.role = role;
    info.bootstrap_port = 8998;
    info.max_context_len = 2048;
    auto s = start_worker_server("127.0.0.1", 0, engine_, info);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(*s);
    stub_ = pb::SglangScheduler::NewStub(
        grpc::CreateChannel(fmt::format("127.0.0.1:{}", server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::milliseconds(100));
  }
  FakeEngine engine_;
  std::unique_ptr<WorkerServer> server_;
  std::unique_ptr<pb::SglangScheduler::Stub> stub_;
};

TEST_F(PdServiceServer, FailedTransferEndsTheStreamWithUnavailable) {
  start("decode");
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r1", true));
  ASSERT_EQ(engine_.wait_submitted(1).size(), 1u);
  EXPECT_EQ(engine_.wait_submitted(1)[0].pd->bootstrap_room, 77);
  EngineEvent ev;
  ev.finish = FinishReason::kAbort;
  ev.status = StatusCode::kUnavailable;
  ev.error = "kv transfer failed: the prefill worker at tcp://10.1.2.3:8998 is silent";
  engine_.emit("r1", std::move(ev));
  engine_.retire("r1");
  pb::GenerateResponse r;
  int messages = 0;
  while (reader->Read(&r)) ++messages;
  grpc::Status st = reader->Finish();
  EXPECT_EQ(messages, 0) << "a failed transfer streams nothing (the gateway may retry)";
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message().rfind("kv transfer failed: ", 0), 0u) << st.error_message();
}

TEST_F(PdServiceServer, PrefillAnswersWithOneCompleteEvenWhenStreaming) {
  start("prefill");
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r3", true));
  ASSERT_EQ(engine_.wait_submitted(1).size(), 1u);
  engine_.emit("r3", testing::terminal(0, {42}, FinishReason::kLength, 3, 1));
  engine_.retire("r3");
  std::vector<pb::GenerateResponse> got;
  pb::GenerateResponse r;
  while (reader->Read(&r)) got.push_back(r);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].has_complete());
  EXPECT_EQ(got[0].complete().output_ids_size(), 1);
  EXPECT_EQ(got[0].complete().output_ids(0), 42u);
  EXPECT_EQ(got[0].complete().finish_reason(), "length");
  EXPECT_EQ(got[0].complete().cached_tokens(), 1u);
}

TEST_F(PdServiceServer, RequestWithoutPdParamsIsRefused) {
  start("prefill");
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r2", false));
  pb::GenerateResponse r;
  while (reader->Read(&r)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("this worker runs as prefill; send requests through a PD gateway"),
            std::string::npos)
      << st.error_message();
}

TEST_F(PdServiceServer, LoadsAndServerInfoReportDisaggregation) {
  start("prefill");
  EngineLoad l;
  l.pd_queued = 2;
  l.pd_inflight = 3;
  l.kv_transfer_speed_gb_s = 1.5;
  l.kv_transfer_latency_ms = 12.0;
  engine_.set_load(l);
  grpc::ClientContext c1;
  pb::GetLoadsResponse loads;
  ASSERT_TRUE(stub_->GetLoads(&c1, pb::GetLoadsRequest(), &loads).ok());
  ASSERT_EQ(loads.loads_size(), 1);
  const pb::DisaggregationMetrics& d = loads.loads(0).disaggregation();
  EXPECT_EQ(d.mode(), "prefill");
  EXPECT_EQ(d.prefill_prealloc_queue_reqs(), 2);
  EXPECT_EQ(d.prefill_inflight_queue_reqs(), 3);
  EXPECT_DOUBLE_EQ(d.kv_transfer_speed_gb_s(), 1.5);
  EXPECT_DOUBLE_EQ(d.kv_transfer_latency_ms(), 12.0);
  grpc::ClientContext c2;
  pb::GetServerInfoResponse info;
  ASSERT_TRUE(stub_->GetServerInfo(&c2, pb::GetServerInfoRequest(), &info).ok());
  const auto& args = info.server_args().fields();
  EXPECT_EQ(args.at("disaggregation_mode").string_value(), "prefill");
  EXPECT_EQ(args.at("disaggregation_bootstrap_port").number_value(), 8998);
}

}  // namespace
}  // namespace tandem::service
