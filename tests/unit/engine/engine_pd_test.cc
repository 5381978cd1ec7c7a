// A prefill Engine and a decode Engine in one process (the default model loaded twice, each engine
// with its own KV cache) connected through real ZeroMQ on loopback: greedy tokens equal the mixed
// Engine's for concurrent requests including multi-chunk prompts and different page sizes; aborts
// at random moments on both sides return both pools to their initial free count; a prefill that
// stops or dies mid-transfer fails the decode request with "kv transfer failed" and frees it; a
// full decode pool makes requests wait in the pre-allocation queue (ACCEPTANCE 1, 4, 11-13).
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "kernels/backend.h"
#include "tests/support/test_paths.h"
#include "tests/unit/engine/engine_test_support.h"
#include "worker/pd/kv_rows.h"

namespace tandem::service::testing {
namespace {

using namespace std::chrono_literals;

// The decode side's own copy of the model (the prefill side uses shared_model()).
tandem::testing::TestModel& decode_model() {
  static std::unique_ptr<tandem::testing::TestModel> model = [] {
    auto m = tandem::testing::load_test_model(tandem::testing::default_model_path(),
                                              kernels::make_cpu_backend(1));
    CHECK(m.ok(), "loading the default model failed: {}", m.status().to_string());
    return std::move(m).value();
  }();
  return *model;
}

pd::TransferOptions test_transfer_options() {
  pd::TransferOptions o;
  o.bootstrap_timeout_s = 20;
  o.transfer_timeout_s = 20;
  o.heartbeat_interval_s = 0.1;
  o.heartbeat_misses = 5;
  return o;
}

struct PairOptions {
  int32_t prefill_slots = 2048;
  int32_t decode_slots = 2048;
  int32_t prefill_page = 1;
  int32_t decode_page = 4;
  int32_t chunk = 64;  // the prefill engine's chunked-prefill size
};

struct PdPair {
  explicit PdPair(PairOptions o = {}) {
    const model::ModelConfig& c = shared_model().config();
    prefill_kv = std::make_unique<runtime::KvCache>(c.num_layers, o.prefill_slots, c.kv_dim(), DType::kF32);
    decode_kv = std::make_unique<runtime::KvCache>(c.num_layers, o.decode_slots, c.kv_dim(), DType::kF32);
    auto pt = pd::make_prefill_transport("zmq", "tcp://127.0.0.1:0",
                                         pd::layout_of(*prefill_kv, c.num_kv_heads, c.head_dim, o.prefill_page),
                                         test_transfer_options());
    CHECK(pt.ok(), "{}", pt.status().to_string());
    prefill_transport = std::move(*pt);
    auto dt = pd::make_decode_transport("zmq", pd::layout_of(*decode_kv, c.num_kv_heads, c.head_dim, o.decode_page),
                                        test_transfer_options());
    CHECK(dt.ok(), "{}", dt.status().to_string());
    decode_transport = std::move(*dt);

    EngineConfig pc = EngineFixture::default_config();
    pc.role = EngineRole::kPrefill;
    pc.prefill_transport = prefill_transport.get();
    pc.scheduler.page_size = o.prefill_page;
    pc.scheduler.limits.max_prefill_tokens_per_step = o.chunk;
    auto pe = Engine::create(shared_model().model(), *prefill_kv, std::move(pc));
    CHECK(pe.ok(), "{}", pe.status().to_string());
    prefill = std::move(*pe);
    EngineConfig dc = EngineFixture::default_config();
    dc.role = EngineRole::kDecode;
    dc.decode_transport = decode_transport.get();
    dc.scheduler.page_size = o.decode_page;
    auto de = Engine::create(decode_model().model(), *decode_kv, std::move(dc));
    CHECK(de.ok(), "{}", de.status().to_string());
    decode = std::move(*de);
    prefill->start();
    decode->start();
  }
  ~PdPair() {
    if (prefill) prefill->stop();
    decode->stop();
  }

  GenerateInput input(const std::string& id, std::vector<int32_t> prompt, int32_t max_new, int32_t room) {
    GenerateInput in = EngineFixture::greedy(id, std::move(prompt), max_new);
    in.pd = PdParams{"127.0.0.1", prefill_transport->port(), room};
    return in;
  }
  // The gateway's move: the same request to both sides at once.
  void submit(const GenerateInput& in, Collector& pc, Collector& dc) {
    pc.expect(in.id);
    dc.expect(in.id);
    ASSERT_TRUE(decode->submit(in, dc.sink()).ok());
    ASSERT_TRUE(prefill->submit(in, pc.sink()).ok());
  }
  int32_t prefill_free() {
    EXPECT_TRUE(prefill->flush_cache());
    return prefill_kv->allocator().num_free();
  }
  int32_t decode_free() {
    EXPECT_TRUE(decode->flush_cache());
    return decode_kv->allocator().num_free();
  }

  std::unique_ptr<runtime::KvCache> prefill_kv, decode_kv;
  std::unique_ptr<pd::PrefillTransport> prefill_transport;
  std::unique_ptr<pd::DecodeTransport> decode_transport;
  std::unique_ptr<Engine> prefill, decode;
};

// Outputs of the mixed engine for the same requests.
std::map<std::string, std::vector<int32_t>> mixed_outputs(
    const std::vector<std::pair<std::string, std::vector<int32_t>>>& prompts, int32_t max_new) {
  EngineFixture f(2048);
  Collector c;
  for (const auto& [id, p] : prompts) {
    c.expect(id);
    EXPECT_TRUE(f.engine->submit(EngineFixture::greedy(id, p, max_new), c.sink()).ok());
  }
  c.wait();
  std::map<std::string, std::vector<int32_t>> out;
  for (const auto& [id, p] : prompts) out[id] = c.at(id).final.tokens;
  return out;
}

TEST(EnginePd, GreedyOutputEqualsMixedForConcurrentMultiChunkRequests) {
  std::vector<std::pair<std::string, std::vector<int32_t>>> prompts;
  const int32_t lens[] = {5, 17, 40, 64, 100, 150, 230, 300};
  for (int i = 0; i < 8; ++i) prompts.emplace_back(fmt::format("r{}", i), make_prompt(lens[i], 100 + i));
  // Two requests share a long prefix: the second reuses it from the prefill's radix cache.
  std::vector<int32_t> shared = prompts[7].second;
  shared.resize(200);
  shared.push_back(4242);
  prompts.emplace_back("r8", shared);
  const auto want = mixed_outputs(prompts, 8);

  PdPair pair;
  Collector pc, dc;
  int32_t room = 1000;
  for (size_t i = 0; i + 1 < prompts.size(); ++i) pair.submit(pair.input(prompts[i].first, prompts[i].second, 8, room++), pc, dc);
  dc.wait();
  pc.wait();
  pair.submit(pair.input("r8", shared, 8, room++), pc, dc);
  dc.wait();
  pc.wait();
  for (const auto& [id, p] : prompts) {
    const Outcome& d = dc.at(id);
    const Outcome& pre = pc.at(id);
    EXPECT_EQ(d.final.status, StatusCode::kOk) << id << ": " << d.final.error;
    EXPECT_EQ(d.final.tokens, want.at(id)) << id;
    EXPECT_EQ(d.streamed, want.at(id)) << id << ": the first token is streamed too";
    EXPECT_EQ(d.final.finish, FinishReason::kLength) << id;
    EXPECT_EQ(d.final.prompt_tokens, static_cast<int32_t>(p.size())) << id;
    EXPECT_EQ(d.terminal_events, 1) << id;
    EXPECT_EQ(pre.final.status, StatusCode::kOk) << id << ": " << pre.final.error;
    EXPECT_EQ(pre.final.tokens, std::vector<int32_t>{want.at(id)[0]}) << id;
    EXPECT_TRUE(pre.streamed.empty()) << id << ": a prefill worker streams nothing";
    EXPECT_EQ(pre.final.finish, FinishReason::kLength) << id;
    EXPECT_EQ(pre.terminal_events, 1) << id;
  }
  // The decode side reports what the prefill side reused.
  EXPECT_GE(pc.at("r8").final.cached_tokens, 200);
  EXPECT_EQ(dc.at("r8").final.cached_tokens, pc.at("r8").final.cached_tokens);
  EXPECT_EQ(pair.prefill_free(), 2048);
  EXPECT_EQ(pair.decode_free(), 2048);
  EXPECT_EQ(pair.decode->load().pd_inflight + pair.prefill->load().pd_inflight, 0);
  EXPECT_GT(pair.decode->load().kv_transfer_speed_gb_s, 0.0);
}

TEST(EnginePd, LogprobsOfTheFirstTokenComeFromThePrefillSide) {
  const std::vector<int32_t> prompt = make_prompt(30, 7);
  EngineFixture mixed(512);
  Collector mc;
  GenerateInput m = EngineFixture::greedy("m", prompt, 4);
  m.params.return_logprob = true;
  m.params.top_logprobs = 2;
  mc.expect("m");
  ASSERT_TRUE(mixed.engine->submit(m, mc.sink()).ok());
  mc.wait();

  PdPair pair;
  Collector pc, dc;
  GenerateInput in = pair.input("lp", prompt, 4, 7);
  in.params.return_logprob = true;
  in.params.top_logprobs = 2;
  pair.submit(in, pc, dc);
  dc.wait();
  pc.wait();
  const EngineEvent& want = mc.at("m").final;
  const EngineEvent& got = dc.at("lp").final;
  ASSERT_EQ(got.logprobs.size(), 4u);
  ASSERT_EQ(want.logprobs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got.logprobs[i].token, want.logprobs[i].token);
    EXPECT_NEAR(got.logprobs[i].logprob, want.logprobs[i].logprob, 1e-4);
    ASSERT_EQ(got.logprobs[i].top_logprobs.size(), 2u);
  }
  ASSERT_EQ(pc.at("lp").final.logprobs.size(), 1u);
  EXPECT_NEAR(pc.at("lp").final.logprobs[0].logprob, want.logprobs[0].logprob, 1e-4);
}

TEST(EnginePd, AbortsAtRandomMomentsOnBothSidesFreeBothPools) {
  PairOptions o;
  o.chunk = 32;
  PdPair pair(o);
  Collector pc, dc;
  std::mt19937 rng(5);
  const int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    pair.submit(pair.input(fmt::format("a{}", i), make_prompt(20 + 25 * (i % 6), 300 + i), 24, 2000 + i),
                pc, dc);
  }
  for (int i = 0; i < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    const std::string id = fmt::format("a{}", i);
    if (i % 3 == 0) pair.decode->abort(id, "client went away");
    if (i % 3 == 1) pair.prefill->abort(id, "prefill stream cancelled");
  }
  dc.wait();
  pc.wait();
  for (int i = 0; i < kRequests; ++i) {
    const std::string id = fmt::format("a{}", i);
    EXPECT_EQ(dc.at(id).terminal_events, 1) << id;
    EXPECT_EQ(pc.at(id).terminal_events, 1) << id;
    const EngineEvent& d = dc.at(id).final;
    if (d.status != StatusCode::kOk) {
      EXPECT_EQ(d.status, StatusCode::kUnavailable) << id;
      EXPECT_EQ(d.error.rfind("kv transfer failed: ", 0), 0u) << id << ": " << d.error;
      EXPECT_TRUE(dc.at(id).streamed.empty()) << id;
    }
    if (i % 3 == 2) {
      EXPECT_EQ(d.status, StatusCode::kOk) << id << ": " << d.error;
      EXPECT_EQ(d.finish, FinishReason::kLength) << id;
    }
  }
  EXPECT_EQ(pair.prefill_free(), 2048);
  EXPECT_EQ(pair.decode_free(), 2048);
}

TEST(EnginePd, PrefillStoppedMidTransferFailsTheDecodeRequest) {
  PairOptions o;
  o.chunk = 16;
  PdPair pair(o);
  Collector pc, dc;
  pair.submit(pair.input("long", make_prompt(600, 9), 8, 31), pc, dc);
  // Wait until the prefill engine is computing it (many chunks of 16), then stop it.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (pair.prefill->load().running == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  pair.prefill->stop();
  dc.wait();
  const Outcome& d = dc.at("long");
  EXPECT_EQ(d.final.status, StatusCode::kUnavailable);
  EXPECT_EQ(d.final.error.rfind("kv transfer failed: ", 0), 0u) << d.final.error;
  EXPECT_TRUE(d.streamed.empty());
  EXPECT_EQ(pair.decode_free(), 2048);
  pc.wait();
  EXPECT_EQ(pair.prefill_kv->allocator().num_free() + pair.prefill->load().cached_tokens, 2048);
}

TEST(EnginePd, DeadPrefillIsDetectedByHeartbeatsAndTheDecodeFrees) {
  PdPair pair;
  Collector dc;
  // A prefill endpoint that goes away without a word (no Abort): only silence tells.
  const model::ModelConfig& c = shared_model().config();
  auto ghost = pd::make_prefill_transport("zmq", "tcp://127.0.0.1:0",
                                          pd::layout_of(*pair.prefill_kv, c.num_kv_heads, c.head_dim, 1),
                                          test_transfer_options());
  ASSERT_TRUE(ghost.ok());
  GenerateInput in = pair.input("orphan", make_prompt(40, 3), 4, 41);
  in.pd->bootstrap_port = (*ghost)->port();
  dc.expect("orphan");
  ASSERT_TRUE(pair.decode->submit(in, dc.sink()).ok());
  std::this_thread::sleep_for(100ms);
  ghost->reset();  // the process "dies"
  dc.wait();
  const Outcome& d = dc.at("orphan");
  EXPECT_EQ(d.final.status, StatusCode::kUnavailable);
  EXPECT_NE(d.final.error.find("silent"), std::string::npos) << d.final.error;
  EXPECT_EQ(pair.decode_free(), 2048);
}

TEST(EnginePd, DeadDecodeIsDetectedAndThePrefillFrees) {
  PairOptions o;
  o.chunk = 16;
  PdPair pair(o);
  const model::ModelConfig& c = shared_model().config();
  // A decode side that reserves, then dies without a word.
  auto ghost = pd::make_decode_transport("zmq", pd::layout_of(*pair.decode_kv, c.num_kv_heads, c.head_dim, 4),
                                         test_transfer_options());
  ASSERT_TRUE(ghost.ok());
  const std::vector<int32_t> prompt = make_prompt(500, 11);
  ASSERT_TRUE((*ghost)->reserve(51, {"gone", pair.prefill_transport->endpoint(), 500}).ok());
  Collector pc;
  pc.expect("gone");
  ASSERT_TRUE(pair.prefill->submit(pair.input("gone", prompt, 4, 51), pc.sink()).ok());
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (pair.prefill->load().running == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ghost->reset();
  pc.wait();
  const EngineEvent& p = pc.at("gone").final;
  EXPECT_EQ(p.status, StatusCode::kUnavailable);
  EXPECT_EQ(p.error.rfind("kv transfer failed: ", 0), 0u) << p.error;
  // Whichever notices first: a send to the vanished peer, or its silence.
  EXPECT_TRUE(p.error.find("unreachable") != std::string::npos || p.error.find("silent") != std::string::npos)
      << p.error;
  EXPECT_EQ(pair.prefill_free(), 2048);
}

TEST(EnginePd, FullDecodePoolQueuesRequestsUntilKvFrees) {
  PairOptions o;
  o.decode_slots = 400;  // room for two 150-token prompts (+ their outputs) at a time
  PdPair pair(o);
  std::vector<std::pair<std::string, std::vector<int32_t>>> prompts;
  for (int i = 0; i < 5; ++i) prompts.emplace_back(fmt::format("q{}", i), make_prompt(150, 500 + i));
  const auto want = mixed_outputs(prompts, 16);
  Collector pc, dc;
  for (size_t i = 0; i < prompts.size(); ++i) {
    pair.submit(pair.input(prompts[i].first, prompts[i].second, 16, 3000 + static_cast<int32_t>(i)), pc, dc);
  }
  int32_t max_queued = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (pair.decode->live_requests() > 0 && std::chrono::steady_clock::now() < deadline) {
    max_queued = std::max(max_queued, pair.decode->load().pd_queued);
    std::this_thread::sleep_for(1ms);
  }
  dc.wait();
  pc.wait();
  EXPECT_GT(max_queued, 0) << "some requests must have waited for decode KV";
  for (const auto& [id, p] : prompts) {
    EXPECT_EQ(dc.at(id).final.status, StatusCode::kOk) << id << ": " << dc.at(id).final.error;
    EXPECT_EQ(dc.at(id).final.tokens, want.at(id)) << id;
  }
  EXPECT_EQ(pair.decode_free(), 400);
  EXPECT_EQ(pair.prefill_free(), 2048);
}

TEST(EnginePd, RolesRefuseRequestsWithoutPdParamsAndViceVersa) {
  PdPair pair;
  EventSink sink = [](EngineEvent&&) {};
  Status p = pair.prefill->submit(EngineFixture::greedy("x", {5, 6}, 2), sink);
  EXPECT_EQ(p.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.message().find("this worker runs as prefill"), std::string::npos) << p.message();
  Status d = pair.decode->submit(EngineFixture::greedy("x", {5, 6}, 2), sink);
  EXPECT_NE(d.message().find("this worker runs as decode"), std::string::npos) << d.message();
  GenerateInput n2 = pair.input("n2", {5, 6}, 2, 1);
  n2.n = 2;
  EXPECT_EQ(pair.decode->submit(n2, sink).code(), StatusCode::kInvalidArgument);
  EngineFixture mixed(64);
  EXPECT_EQ(mixed.engine->submit(pair.input("m", {5, 6}, 2, 1), sink).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::service::testing
