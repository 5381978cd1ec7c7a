// WorkerService over FakeEngine through a real in-process gRPC server on port 0 and the generated
// stub: streaming, n > 1, non-stream, errors, cancellation, loads, tokenizer bundle, KV events.
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/client/tokenizer_archive.h"
#include "sglang_scheduler.grpc.pb.h"
#include "tests/support/test_paths.h"
#include "tests/unit/service/fake_engine.h"
#include "worker/service/worker_server.h"

namespace tandem::service {
namespace {

namespace pb = ::sglang::grpc::scheduler;
namespace cpb = ::smg::grpc::common;
using service::testing::FakeEngine;
using service::testing::step;
using service::testing::terminal;

class WorkerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerInfo info;
    info.model_path = "/models/m.gguf";
    info.served_model_name = "m";
    info.max_context_len = 2048;
    info.vocab_size = 1000;
    info.eos_token_ids = {2};
    info.tokenizer_path = tokenizer_path_;
    WorkerServerOptions opts;
    opts.kv_events = &kv_;
    auto s = start_worker_server("127.0.0.1", 0, engine_, info, opts);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(*s);
    ASSERT_GT(server_->port(), 0);
    channel_ = grpc::CreateChannel(fmt::format("127.0.0.1:{}", server_->port()), grpc::InsecureChannelCredentials());
    stub_ = pb::SglangScheduler::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::milliseconds(100));
  }

  static pb::GenerateRequest request(const std::string& id, bool stream, uint32_t n = 1) {
    pb::GenerateRequest r;
    r.set_request_id(id);
    for (uint32_t t : {1u, 2u, 3u}) r.mutable_tokenized()->add_input_ids(t);
    r.mutable_sampling_params()->set_max_new_tokens(8);
    r.mutable_sampling_params()->set_n(n);
    r.set_stream(stream);
    return r;
  }

  std::vector<pb::GenerateResponse> read_all(grpc::ClientReader<pb::GenerateResponse>& reader, grpc::Status* st) {
    std::vector<pb::GenerateResponse> out;
    pb::GenerateResponse r;
    while (reader.Read(&r)) out.push_back(r);
    *st = reader.Finish();
    return out;
  }

  std::string tokenizer_path_ = tandem::testing::default_model_path();
  FakeEngine engine_;
  KvEventSource kv_;
  std::unique_ptr<WorkerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::SglangScheduler::Stub> stub_;
};

TEST_F(WorkerServiceTest, StreamsChunksThenComplete) {
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r1", /*stream=*/true));
  engine_.wait_submitted(1);
  engine_.emit("r1", step(0, {5}));
  engine_.emit("r1", step(0, {6}));
  EngineEvent end = terminal(0, {5, 6, 7}, FinishReason::kStop, 3, /*cached=*/1);
  end.matched_stop_token = 7;
  engine_.emit("r1", std::move(end));
  grpc::Status st;
  auto msgs = read_all(*reader, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(msgs.size(), 4u);
  // Two step chunks, the tail token only the terminal event brought, then the Complete.
  EXPECT_EQ(msgs[0].chunk().token_ids(0), 5u);
  EXPECT_EQ(msgs[0].chunk().completion_tokens(), 1u);
  EXPECT_EQ(msgs[0].chunk().prompt_tokens(), 3u);
  EXPECT_EQ(msgs[1].chunk().token_ids(0), 6u);
  EXPECT_EQ(msgs[1].chunk().completion_tokens(), 2u);
  ASSERT_EQ(msgs[2].chunk().token_ids_size(), 1);
  EXPECT_EQ(msgs[2].chunk().token_ids(0), 7u);
  EXPECT_EQ(msgs[2].chunk().completion_tokens(), 3u);
  ASSERT_TRUE(msgs[3].has_complete());
  const pb::GenerateComplete& c = msgs[3].complete();
  EXPECT_EQ(c.finish_reason(), "stop");
  EXPECT_EQ(c.output_ids_size(), 3);
  EXPECT_EQ(c.matched_token_id(), 7u);
  EXPECT_EQ(c.prompt_tokens(), 3u);
  EXPECT_EQ(c.cached_tokens(), 1u);
  EXPECT_EQ(c.completion_tokens(), 3u);
  EXPECT_EQ(msgs[3].request_id(), "r1");
}

TEST_F(WorkerServiceTest, NonStreamParallelSamplesSendOnlyCompletesPerIndex) {
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r2", /*stream=*/false, /*n=*/2));
  auto inputs = engine_.wait_submitted(1);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].n, 2);
  engine_.emit("r2", step(1, {9}));
  engine_.emit("r2", step(0, {8}));
  engine_.emit("r2", terminal(1, {9, 10}, FinishReason::kLength, 3));
  engine_.emit("r2", terminal(0, {8, 11}, FinishReason::kLength, 3));
  grpc::Status st;
  auto msgs = read_all(*reader, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[0].has_complete());
  EXPECT_EQ(msgs[0].complete().index(), 1u);
  EXPECT_EQ(msgs[0].complete().finish_reason(), "length");
  EXPECT_EQ(msgs[1].complete().index(), 0u);
  EXPECT_EQ(msgs[1].complete().output_ids(1), 11u);
}

TEST_F(WorkerServiceTest, ConstraintIsRejectedBeforeTheEngine) {
  grpc::ClientContext ctx;
  pb::GenerateRequest r = request("r3", true);
  r.mutable_sampling_params()->set_json_schema("{\"type\":\"object\"}");
  auto reader = stub_->Generate(&ctx, r);
  grpc::Status st;
  auto msgs = read_all(*reader, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("no grammar backend"), std::string::npos) << st.error_message();
  EXPECT_TRUE(msgs.empty());
  EXPECT_EQ(engine_.live_requests(), 0);
}

TEST_F(WorkerServiceTest, SubmitErrorsKeepTheEngineCodeAndMessage) {
  engine_.fail_next_submit(Status(StatusCode::kUnavailable, "engine stopped"));
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r4", true));
  grpc::Status st;
  read_all(*reader, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "engine stopped");
}

TEST_F(WorkerServiceTest, ClientCancelAbortsInTheEngineAndLateEventsAreHarmless) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  auto reader = stub_->Generate(ctx.get(), request("r5", true));
  engine_.wait_submitted(1);
  engine_.emit("r5", step(0, {5}));
  pb::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  ctx->TryCancel();
  auto aborted = engine_.wait_aborted(1);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], "r5");
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The engine's terminal abort event arrives after the reactor may be gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EngineEvent end = terminal(0, {5}, FinishReason::kAbort, 3);
  end.error = "aborted";
  engine_.emit("r5", std::move(end));
  engine_.retire("r5");
}

TEST_F(WorkerServiceTest, TimeoutEndsWithAbortCompleteAndReasonInTrailers) {
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, request("r6", false));
  engine_.wait_submitted(1);
  EngineEvent end = terminal(0, {}, FinishReason::kWaitingTimeout, 3);
  end.error = "waited 5.0 s in the queue";
  engine_.emit("r6", std::move(end));
  grpc::Status st;
  auto msgs = read_all(*reader, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].complete().finish_reason(), "abort");
  auto trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find("tandem-abort-reason");
  ASSERT_NE(it, trailers.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "waited 5.0 s in the queue");
}

// Upstream's convention: knobs travel as plain proto3 scalars and senders fill them. A field left
// at zero reads as the default where zero is unusable (top_p, top_k, repetition_penalty); a zero
// temperature is greedy, as SGLang's servicer reads it.
TEST_F(WorkerServiceTest, SamplingZeroValuesAndPresence) {
  {
    grpc::ClientContext ctx;
    pb::GenerateRequest r = request("d1", false);
    r.mutable_sampling_params()->clear_max_new_tokens();
    r.mutable_sampling_params()->set_n(0);
    auto reader = stub_->Generate(&ctx, r);
    auto in = engine_.wait_submitted(1).at(0);
    EXPECT_EQ(in.params.temperature, 0.0f);
    EXPECT_FLOAT_EQ(in.params.top_p, 1.0f);
    EXPECT_EQ(in.params.top_k, -1);
    EXPECT_FLOAT_EQ(in.params.repetition_penalty, 1.0f);
    EXPECT_EQ(in.params.max_new_tokens, 2048 - 3);  // unset: the rest of the context
    EXPECT_EQ(in.n, 1);
    engine_.emit("d1", terminal(0, {4}, FinishReason::kLength, 3));
    grpc::Status st;
    read_all(*reader, &st);
    engine_.retire("d1");
  }
  {
    grpc::ClientContext ctx;
    pb::GenerateRequest r = request("d2", false);
    pb::SamplingParams* sp = r.mutable_sampling_params();
    // What SMG's client sends for a user who set only temperature and repetition_penalty.
    sp->set_temperature(0.7f);
    sp->set_top_p(1.0f);
    sp->set_top_k(-1);
    sp->set_repetition_penalty(1.3f);
    sp->set_min_p(0.05f);
    sp->add_stop_token_ids(42);
    (*sp->mutable_logit_bias())["17"] = -5.0f;
    sp->set_min_new_tokens(2);
    sp->set_ignore_eos(true);
    r.set_return_logprob(true);
    r.set_top_logprobs_num(3);
    auto reader = stub_->Generate(&ctx, r);
    auto in = engine_.wait_submitted(2).at(1);
    EXPECT_FLOAT_EQ(in.params.temperature, 0.7f);
    EXPECT_FLOAT_EQ(in.params.top_p, 1.0f);
    EXPECT_EQ(in.params.top_k, -1);
    EXPECT_FLOAT_EQ(in.params.min_p, 0.05f);
    EXPECT_FLOAT_EQ(in.params.repetition_penalty, 1.3f);
    EXPECT_EQ(in.params.max_new_tokens, 8);
    ASSERT_EQ(in.params.stop_token_ids.size(), 1u);
    EXPECT_EQ(in.params.stop_token_ids[0], 42);
    ASSERT_EQ(in.params.logit_bias.size(), 1u);
    EXPECT_EQ(in.params.logit_bias[0].first, 17);
    EXPECT_EQ(in.params.min_new_tokens, 2);
    EXPECT_TRUE(in.params.ignore_eos);
    EXPECT_TRUE(in.params.return_logprob);
    EXPECT_EQ(in.params.top_logprobs, 3);
    EngineEvent end = terminal(0, {4}, FinishReason::kLength, 3);
    end.logprobs.push_back({4, -0.5f, {{4, -0.5f}, {9, -1.5f}}});
    engine_.emit("d2", std::move(end));
    grpc::Status st;
    auto msgs = read_all(*reader, &st);
    ASSERT_EQ(msgs.size(), 1u);
    const pb::OutputLogProbs& lp = msgs[0].complete().output_logprobs();
    ASSERT_EQ(lp.token_logprobs_size(), 1);
    EXPECT_FLOAT_EQ(lp.token_logprobs(0), -0.5f);
    ASSERT_EQ(lp.top_logprobs_size(), 1);
    EXPECT_EQ(lp.top_logprobs(0).token_ids(1), 9u);
  }
  {
    grpc::ClientContext ctx;
    pb::GenerateRequest r = request("d3", false);
    (*r.mutable_sampling_params()->mutable_logit_bias())["abc"] = 1.0f;
    auto reader = stub_->Generate(&ctx, r);
    grpc::Status st;
    read_all(*reader, &st);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(WorkerServiceTest, GetLoadsMapsEngineLoad) {
  EngineLoad l;
  l.running = 2;
  l.waiting = 3;
  l.used_tokens = 100;
  l.total_tokens = 400;
  l.cache_hit_rate = 0.5;
  l.gen_throughput = 12.5;
  l.max_running_requests = 8;
  engine_.set_load(l);
  grpc::ClientContext ctx;
  pb::GetLoadsRequest req;
  req.add_include("all");
  pb::GetLoadsResponse resp;
  ASSERT_TRUE(stub_->GetLoads(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.loads_size(), 1);
  const pb::SchedulerLoad& s = resp.loads(0);
  EXPECT_EQ(s.num_running_reqs(), 2);
  EXPECT_EQ(s.num_waiting_reqs(), 3);
  EXPECT_EQ(s.num_total_reqs(), 5);
  EXPECT_EQ(s.num_used_tokens(), 100);
  EXPECT_EQ(s.max_total_num_tokens(), 400);
  EXPECT_DOUBLE_EQ(s.token_usage(), 0.25);
  EXPECT_DOUBLE_EQ(s.gen_throughput(), 12.5);
  EXPECT_DOUBLE_EQ(s.cache_hit_rate(), 0.5);
  EXPECT_EQ(s.max_running_requests(), 8);
  EXPECT_TRUE(s.has_memory());
  EXPECT_EQ(s.memory().token_capacity(), 400);
  EXPECT_EQ(resp.aggregate().total_reqs(), 5);
  EXPECT_EQ(resp.dp_rank_count(), 1);
}

TEST_F(WorkerServiceTest, AbortHealthAndModelInfo) {
  {
    grpc::ClientContext ctx;
    pb::AbortRequest req;
    req.set_request_id("nope");
    pb::AbortResponse resp;
    ASSERT_TRUE(stub_->Abort(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.success());
    EXPECT_EQ(engine_.wait_aborted(1).at(0), "nope");
  }
  {
    grpc::ClientContext ctx;
    pb::HealthCheckResponse resp;
    ASSERT_TRUE(stub_->HealthCheck(&ctx, {}, &resp).ok());
    EXPECT_TRUE(resp.healthy());
  }
  {
    grpc::ClientContext ctx;
    pb::GetModelInfoResponse resp;
    ASSERT_TRUE(stub_->GetModelInfo(&ctx, {}, &resp).ok());
    EXPECT_EQ(resp.served_model_name(), "m");
    EXPECT_EQ(resp.max_context_length(), 2048);
    EXPECT_EQ(resp.vocab_size(), 1000);
    ASSERT_EQ(resp.eos_token_ids_size(), 1);
    EXPECT_TRUE(resp.is_generation());
  }
}

TEST_F(WorkerServiceTest, ATakenPortIsAnErrorNotASharedPort) {
  auto second = start_worker_server("127.0.0.1", server_->port(), engine_, WorkerInfo{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(server_->port())), std::string::npos);
}

TEST_F(WorkerServiceTest, KvEventsReachSubscribers) {
  grpc::ClientContext ctx;
  auto reader = stub_->SubscribeKvEvents(&ctx, {});
  for (int i = 0; i < 200 && kv_.subscriber_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(kv_.subscriber_count(), 1u);
  KvCacheEventData stored;
  stored.blocks.push_back({77, {1, 2, 3}, 3});
  kv_.publish({stored});
  kv_.publish({KvCacheEventData{KvCacheEventData::Kind::kCleared, {}, std::nullopt, {}}});
  cpb::KvEventBatch b;
  ASSERT_TRUE(reader->Read(&b));
  EXPECT_EQ(b.sequence_number(), 1u);
  ASSERT_EQ(b.events_size(), 1);
  EXPECT_EQ(b.events(0).stored().blocks(0).block_hash(), 77);
  ASSERT_TRUE(reader->Read(&b));
  EXPECT_EQ(b.sequence_number(), 2u);
  EXPECT_TRUE(b.events(0).has_cleared());
  ctx.TryCancel();
  reader->Finish();
  for (int i = 0; i < 200 && kv_.subscriber_count() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(kv_.subscriber_count(), 0u);
}

// A subscriber that stops reading must not hold the publisher up: once its queue is full it is
// dropped: its queued batches are discarded and its stream ends with RESOURCE_EXHAUSTED.
TEST(WorkerServiceKvEvents, ASubscriberThatStopsReadingIsDroppedNotWaitedFor) {
  FakeEngine engine;
  KvEventSource kv;
  WorkerServerOptions opts;
  opts.kv_events = &kv;
  opts.kv_queue_capacity = 4;
  auto server = start_worker_server("127.0.0.1", 0, engine, WorkerInfo{}, opts);
  ASSERT_TRUE(server.ok());
  auto stub = pb::SglangScheduler::NewStub(
      grpc::CreateChannel(fmt::format("127.0.0.1:{}", (*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto reader = stub->SubscribeKvEvents(&ctx, {});
  for (int i = 0; i < 200 && kv.subscriber_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(kv.subscriber_count(), 1u);
  // Fat batches fill the HTTP/2 window quickly; publish never blocks whatever the reader does.
  KvCacheEventData stored;
  stored.blocks.push_back({1, std::vector<int32_t>(4096, 7), 4096});
  int published = 0;
  while (kv.subscriber_count() > 0 && published < 200000) {
    kv.publish({stored});
    if (++published % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(kv.subscriber_count(), 0u) << "never dropped after " << published << " batches";
  cpb::KvEventBatch b;
  uint64_t last = 0;
  while (reader->Read(&b)) {
    EXPECT_EQ(b.sequence_number(), last + 1) << "delivered batches stay in order without gaps";
    last = b.sequence_number();
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("fell behind"), std::string::npos);
  EXPECT_LT(last, static_cast<uint64_t>(published));
  (*server)->shutdown(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace tandem::service
