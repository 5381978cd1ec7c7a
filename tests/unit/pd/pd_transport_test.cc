// The ZeroMQ transport over real sockets (tcp loopback and ipc): a full room (reserve, accepted,
// chunks, done, ack) with random KV bytes compared exactly; garbage to both sockets is dropped and
// counted while the next room still works; heartbeat loss, bootstrap and transfer timeouts fail
// rooms in time; abort from either side reaches the other (ACCEPTANCE 11, 12, 14).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "tests/unit/pd/pd_test_peers.h"
#include "worker/pd/kv_transfer.h"

namespace tandem::pd {
namespace {

using testing::RawPeer;
namespace pb = ::tandem::pd::wire;
using namespace std::chrono_literals;

KvLayout layout() {
  KvLayout l;
  l.num_layers = 4;
  l.kv_heads = 2;
  l.head_dim = 8;
  l.dtype = DType::kBF16;
  return l;
}

TransferOptions fast_options() {
  TransferOptions o;
  o.bootstrap_timeout_s = 0.5;
  o.transfer_timeout_s = 0.5;
  o.heartbeat_interval_s = 0.1;
  o.heartbeat_misses = 3;
  return o;
}

std::shared_ptr<KvStaging> random_rows(int32_t first, int32_t n, uint32_t seed) {
  const KvLayout l = layout();
  auto s = std::make_shared<KvStaging>();
  s->first_token_index = first;
  s->num_tokens = n;
  s->layer_begin = 0;
  s->layer_end = l.num_layers;
  s->row_bytes = l.row_bytes();
  s->bytes.resize(2 * l.num_layers * s->block_bytes());
  std::mt19937 rng(seed);
  for (uint8_t& b : s->bytes) b = static_cast<uint8_t>(rng());
  return s;
}

// Polls until pred(update) or timeout; returns the last update. Chunks are accumulated into *chunks.
template <typename T>
RoomUpdate wait_room(T& t, int32_t room, std::function<bool(const RoomUpdate&)> pred,
                     double timeout_s = 5.0, std::vector<KvRows>* chunks = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  RoomUpdate u;
  while (true) {
    u = t.poll(room);
    if (chunks) {
      for (auto& c : u.chunks) chunks->push_back(std::move(c));
    }
    if (pred(u) || std::chrono::steady_clock::now() > deadline) return u;
    std::this_thread::sleep_for(2ms);
  }
}

bool is(const RoomUpdate& u, RoomState s) { return u.state == s; }

// A valid Reserve for 4 tokens of layout() (with another page size), as a raw decode peer sends it.
pb::Envelope raw_reserve(int32_t room) {
  pb::Envelope res;
  pb::Reserve* r = res.mutable_reserve();
  r->set_room(room);
  r->set_prompt_len(4);
  r->set_slot_count(4);
  r->mutable_layout()->set_num_layers(4);
  r->mutable_layout()->set_kv_heads(2);
  r->mutable_layout()->set_head_dim(8);
  r->mutable_layout()->set_dtype("bf16");
  r->mutable_layout()->set_page_size(16);
  r->mutable_layout()->set_tp_size(1);
  return res;
}

std::vector<std::string>& ipc_paths() {
  static std::vector<std::string> paths;
  return paths;
}

std::string bind_for(const std::string& kind) {
  static int n = 0;
  if (kind == "tcp") return "tcp://127.0.0.1:0";
  ipc_paths().push_back(fmt::format("/tmp/tandem-pd-test-{}-{}", getpid(), n++));
  return "ipc://" + ipc_paths().back();
}

class PdTransport : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto p = make_prefill_transport("zmq", bind_for(GetParam()), layout(), fast_options());
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    prefill = std::move(*p);
    auto d = make_decode_transport("zmq", layout(), fast_options());
    ASSERT_TRUE(d.ok());
    decode = std::move(*d);
  }
  void TearDown() override {
    prefill.reset();
    decode.reset();
    for (const std::string& p : ipc_paths()) unlink(p.c_str());  // sockets libzmq left behind
    ipc_paths().clear();
  }
  std::unique_ptr<PrefillTransport> prefill;
  std::unique_ptr<DecodeTransport> decode;
};

// A whole room; returns false (with test failures) on a mismatch.
void run_room(PrefillTransport& prefill, DecodeTransport& decode, int32_t room, uint32_t seed) {
  const int32_t prompt = 37;
  ASSERT_TRUE(decode.reserve(room, {"req-" + std::to_string(room), prefill.endpoint(), prompt}).ok());
  // The decode's Reserve may arrive before or after the engine opens the room.
  std::this_thread::sleep_for(std::chrono::milliseconds(seed % 2 == 0 ? 0 : 30));
  ASSERT_TRUE(prefill.open_room(room, "req").ok());
  RoomUpdate pu = wait_room(prefill, room, [](auto& u) { return is(u, RoomState::kWaitingForInput); });
  ASSERT_EQ(pu.state, RoomState::kWaitingForInput) << pu.reason;
  EXPECT_EQ(pu.prompt_len, prompt);
  ASSERT_EQ(wait_room(decode, room, [](auto& u) { return u.state != RoomState::kBootstrapping; }).state,
            RoomState::kWaitingForInput);
  // Three chunks (as three prefill chunks would send them).
  std::vector<std::shared_ptr<KvStaging>> sent = {random_rows(0, 16, seed), random_rows(16, 16, seed + 1),
                                                  random_rows(32, 5, seed + 2)};
  for (auto& s : sent) prefill.send_chunk(room, s);
  FirstToken first;
  first.token = 4242;
  first.has_logprob = true;
  first.logprob = -1.25f;
  first.top_logprobs = {{4242, -1.25f}, {7, -2.0f}};
  first.cached_tokens = 16;
  prefill.send_done(room, first);
  std::vector<KvRows> got;
  RoomUpdate du = wait_room(decode, room, [](auto& u) { return u.state == RoomState::kSuccess ||
                                                                u.state == RoomState::kFailed; },
                            5.0, &got);
  ASSERT_EQ(du.state, RoomState::kSuccess) << du.reason;
  ASSERT_TRUE(du.done.has_value());
  EXPECT_EQ(du.done->token, 4242);
  EXPECT_FLOAT_EQ(du.done->logprob, -1.25f);
  ASSERT_EQ(du.done->top_logprobs.size(), 2u);
  EXPECT_EQ(du.done->top_logprobs[1].first, 7);
  EXPECT_EQ(du.done->cached_tokens, 16);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t c = 0; c < sent.size(); ++c) {
    EXPECT_EQ(got[c].first_token_index, sent[c]->first_token_index);
    ASSERT_EQ(got[c].num_tokens, sent[c]->num_tokens);
    for (int32_t l = 0; l < layout().num_layers; ++l) {
      ASSERT_EQ(got[c].k[l].size(), sent[c]->block_bytes());
      EXPECT_EQ(0, std::memcmp(got[c].k[l].data(), sent[c]->k(l), sent[c]->block_bytes())) << c << " " << l;
      EXPECT_EQ(0, std::memcmp(got[c].v[l].data(), sent[c]->v(l), sent[c]->block_bytes())) << c << " " << l;
    }
  }
  // Not acknowledged yet: the prefill side must still hold the room.
  EXPECT_EQ(prefill.poll(room).state, RoomState::kTransferring);
  decode.ack(room);
  EXPECT_EQ(wait_room(prefill, room, [](auto& u) { return is(u, RoomState::kSuccess); }).state,
            RoomState::kSuccess);
  prefill.close_room(room);
}

TEST_P(PdTransport, RoomRoundTripMovesEveryByte) {
  for (int32_t room = 1; room <= 4; ++room) {
    run_room(*prefill, *decode, room, static_cast<uint32_t>(room * 10));
  }
  const TransferStats ps = prefill->stats();
  const TransferStats ds = decode->stats();
  EXPECT_EQ(ps.rooms_succeeded, 4);
  EXPECT_EQ(ds.rooms_succeeded, 4);
  EXPECT_EQ(ps.bytes, ds.bytes);
  EXPECT_EQ(ds.bytes, 4 * 2 * 37 * 4 * static_cast<int64_t>(layout().row_bytes()));
  EXPECT_EQ(ps.dropped_messages, 0);
  EXPECT_EQ(ds.dropped_messages, 0);
  EXPECT_EQ(ps.open_rooms, 0);
  EXPECT_EQ(ds.open_rooms, 0);
}

TEST_P(PdTransport, GarbageToThePrefillSocketIsDroppedAndTheNextRoomWorks) {
  auto raw = RawPeer::dealer(prefill->endpoint(), "garbage-sender");
  raw->send({"\xff\xfe not protobuf"});                          // undecodable
  raw->send({});                                                 // nothing (ignored by zmq)
  pb::Envelope ack;
  ack.mutable_ack()->set_room(999);
  raw->send_env("", ack);                                        // unknown room
  pb::Envelope done;
  done.mutable_done()->set_room(5);
  raw->send_env("", done);                                       // wrong direction
  raw->send({ack.SerializeAsString(), "extra frame"});           // wrong frame count
  pb::Envelope bad;
  bad.mutable_reserve()->set_room(6);
  bad.mutable_reserve()->set_prompt_len(4);
  bad.mutable_reserve()->set_slot_count(4);
  bad.mutable_reserve()->mutable_layout()->set_num_layers(99);
  bad.mutable_reserve()->mutable_layout()->set_kv_heads(2);
  bad.mutable_reserve()->mutable_layout()->set_head_dim(8);
  bad.mutable_reserve()->mutable_layout()->set_dtype("bf16");
  bad.mutable_reserve()->mutable_layout()->set_tp_size(1);
  raw->send_env("", bad);                                        // incompatible layout: refused
  auto failed = raw->wait_for([](const pb::Envelope& e) { return e.has_failed(); });
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->env.failed().room(), 6);
  EXPECT_NE(failed->env.failed().reason().find("layout mismatch"), std::string::npos)
      << failed->env.failed().reason();
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (prefill->stats().dropped_messages < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GE(prefill->stats().dropped_messages, 4);
  run_room(*prefill, *decode, 7, 70);
}

TEST_P(PdTransport, GarbageToTheDecodeSocketIsDroppedAndTheRoomStillCompletes) {
  auto fake = RawPeer::router(bind_for(GetParam()));
  ASSERT_TRUE(decode->reserve(11, {"r", fake->endpoint(), 4}).ok());
  auto reserve = fake->wait_for([](const pb::Envelope& e) { return e.has_reserve(); });
  ASSERT_TRUE(reserve.has_value());
  EXPECT_EQ(reserve->env.reserve().prompt_len(), 4);
  const std::string id = reserve->id;
  fake->send({id, "\x01\x02garbage"});                             // undecodable
  pb::Envelope acc;
  acc.mutable_accepted()->set_room(12345);
  fake->send_env(id, acc);                                        // unknown room
  pb::Envelope res;
  res.mutable_reserve()->set_room(11);
  fake->send_env(id, res);                                        // wrong direction
  pb::Envelope chunk;
  chunk.mutable_kv_chunk()->set_room(11);
  chunk.mutable_kv_chunk()->set_layer_begin(0);
  chunk.mutable_kv_chunk()->set_layer_end(4);
  chunk.mutable_kv_chunk()->set_num_tokens(4);
  fake->send({id, chunk.SerializeAsString(), "only one frame"});  // wrong frame count
  acc.mutable_accepted()->set_room(11);
  fake->send_env(id, acc);
  ASSERT_EQ(wait_room(*decode, 11, [](auto& u) { return u.state != RoomState::kBootstrapping; }).state,
            RoomState::kWaitingForInput);
  // A chunk whose frames have the wrong size for the layout: dropped, the room keeps going.
  fake->send({id, chunk.SerializeAsString(), "a", "b", "c", "d", "e", "f", "g", "h"});
  pb::Envelope done;
  done.mutable_done()->set_room(11);
  done.mutable_done()->set_first_token(3);
  fake->send_env(id, done);
  RoomUpdate u = wait_room(*decode, 11, [](auto& x) { return x.state == RoomState::kSuccess; });
  ASSERT_EQ(u.state, RoomState::kSuccess) << u.reason;
  EXPECT_TRUE(u.chunks.empty());
  EXPECT_EQ(u.done->token, 3);
  EXPECT_GE(decode->stats().dropped_messages, 5);
}

TEST_P(PdTransport, SilentPrefillFailsTheDecodeRoomWithinTheHeartbeatWindow) {
  auto fake = RawPeer::router(bind_for(GetParam()));
  ASSERT_TRUE(decode->reserve(21, {"r", fake->endpoint(), 4}).ok());
  auto reserve = fake->wait_for([](const pb::Envelope& e) { return e.has_reserve(); });
  ASSERT_TRUE(reserve.has_value());
  pb::Envelope acc;
  acc.mutable_accepted()->set_room(21);
  fake->send_env(reserve->id, acc);
  ASSERT_EQ(wait_room(*decode, 21, [](auto& u) { return u.state != RoomState::kBootstrapping; }).state,
            RoomState::kWaitingForInput);
  fake->answer_heartbeats = false;  // the prefill "dies"
  const auto t0 = std::chrono::steady_clock::now();
  RoomUpdate u = wait_room(*decode, 21, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(u.state, RoomState::kFailed);
  EXPECT_NE(u.reason.find("silent"), std::string::npos) << u.reason;
  EXPECT_LT(took, 0.5 + 0.3 + 0.2) << "3 missed heartbeats of 0.1 s must not take this long";
  EXPECT_GE(fake->heartbeats_seen(), 2);
}

TEST_P(PdTransport, SilentDecodeFailsThePrefillRoom) {
  ASSERT_TRUE(prefill->open_room(31, "r").ok());
  auto raw = RawPeer::dealer(prefill->endpoint(), "mute-decode");
  raw->send_env("", raw_reserve(31));
  ASSERT_TRUE(raw->wait_for([](const pb::Envelope& e) { return e.has_accepted(); }).has_value());
  // No heartbeats from this "decode": the room fails after 3 x 0.1 s.
  RoomUpdate u = wait_room(*prefill, 31, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(u.state, RoomState::kFailed);
  EXPECT_NE(u.reason.find("silent"), std::string::npos) << u.reason;
}

TEST_P(PdTransport, BootstrapTimeoutsOnBothSides) {
  // Prefill holds a request nobody reserves.
  ASSERT_TRUE(prefill->open_room(41, "r").ok());
  RoomUpdate p = wait_room(*prefill, 41, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(p.state, RoomState::kFailed);
  EXPECT_NE(p.reason.find("bootstrap timeout"), std::string::npos) << p.reason;
  // Decode reserves a room the prefill worker never gets a request for: the prefill side tells it
  // (before the decode's own, longer, bootstrap timeout).
  TransferOptions patient = fast_options();
  patient.bootstrap_timeout_s = 3.0;
  auto slow_decode = make_decode_transport("zmq", layout(), patient);
  ASSERT_TRUE(slow_decode.ok());
  ASSERT_TRUE((*slow_decode)->reserve(42, {"r", prefill->endpoint(), 4}).ok());
  RoomUpdate d = wait_room(**slow_decode, 42, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(d.state, RoomState::kFailed);
  EXPECT_NE(d.reason.find("got no request for room 42"), std::string::npos) << d.reason;
  // Decode reserves at a live peer that never accepts.
  auto fake = RawPeer::router(bind_for(GetParam()));
  ASSERT_TRUE(decode->reserve(43, {"r", fake->endpoint(), 4}).ok());
  RoomUpdate d2 = wait_room(*decode, 43, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(d2.state, RoomState::kFailed);
  EXPECT_NE(d2.reason.find("bootstrap timeout"), std::string::npos) << d2.reason;
}

TEST_P(PdTransport, TransferTimeoutWhenNoKvArrives) {
  auto fake = RawPeer::router(bind_for(GetParam()));
  ASSERT_TRUE(decode->reserve(51, {"r", fake->endpoint(), 4}).ok());
  auto reserve = fake->wait_for([](const pb::Envelope& e) { return e.has_reserve(); });
  ASSERT_TRUE(reserve.has_value());
  pb::Envelope acc;
  acc.mutable_accepted()->set_room(51);
  fake->send_env(reserve->id, acc);  // accepted, heartbeats answered, but no chunk ever comes
  RoomUpdate u = wait_room(*decode, 51, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(u.state, RoomState::kFailed);
  EXPECT_NE(u.reason.find("transfer timeout"), std::string::npos) << u.reason;
}

TEST_P(PdTransport, PrefillTransferTimeoutWhenDoneIsNeverAcknowledged) {
  ASSERT_TRUE(prefill->open_room(55, "r").ok());
  auto raw = RawPeer::dealer(prefill->endpoint(), "forgetful-decode");
  raw->send_heartbeats = true;  // alive, but it never acknowledges
  raw->send_env("", raw_reserve(55));
  ASSERT_TRUE(raw->wait_for([](const pb::Envelope& e) { return e.has_accepted(); }).has_value());
  prefill->send_chunk(55, random_rows(0, 4, 9));
  prefill->send_done(55, FirstToken{});
  ASSERT_TRUE(raw->wait_for([](const pb::Envelope& e) { return e.has_done(); }).has_value());
  // The transfer timeout (0.5 s) fires.
  RoomUpdate u = wait_room(*prefill, 55, [](auto& x) { return is(x, RoomState::kFailed); }, 3.0);
  ASSERT_EQ(u.state, RoomState::kFailed);
  EXPECT_NE(u.reason.find("transfer timeout"), std::string::npos) << u.reason;
  // The decode side is told.
  EXPECT_TRUE(raw->wait_for([](const pb::Envelope& e) { return e.has_failed(); }).has_value());
}

TEST_P(PdTransport, AbortFromEitherSideReachesThePeer) {
  // Decode aborts mid-transfer.
  ASSERT_TRUE(decode->reserve(61, {"r", prefill->endpoint(), 8}).ok());
  ASSERT_TRUE(prefill->open_room(61, "r").ok());
  ASSERT_EQ(wait_room(*prefill, 61, [](auto& u) { return u.state != RoomState::kBootstrapping; }).state,
            RoomState::kWaitingForInput);
  prefill->send_chunk(61, random_rows(0, 4, 1));
  ASSERT_EQ(wait_room(*decode, 61, [](auto& u) { return is(u, RoomState::kTransferring); }).state,
            RoomState::kTransferring);
  decode->abort(61, "client went away");
  RoomUpdate p = wait_room(*prefill, 61, [](auto& u) { return is(u, RoomState::kFailed); });
  ASSERT_EQ(p.state, RoomState::kFailed);
  EXPECT_NE(p.reason.find("client went away"), std::string::npos) << p.reason;
  prefill->close_room(61);
  // Prefill aborts before any KV moved.
  ASSERT_TRUE(decode->reserve(62, {"r", prefill->endpoint(), 8}).ok());
  ASSERT_TRUE(prefill->open_room(62, "r").ok());
  ASSERT_EQ(wait_room(*decode, 62, [](auto& u) { return u.state != RoomState::kBootstrapping; }).state,
            RoomState::kWaitingForInput);
  prefill->abort(62, "prefill request cancelled");
  RoomUpdate d = wait_room(*decode, 62, [](auto& u) { return is(u, RoomState::kFailed); });
  ASSERT_EQ(d.state, RoomState::kFailed);
  EXPECT_NE(d.reason.find("prefill request cancelled"), std::string::npos) << d.reason;
  EXPECT_EQ(prefill->poll(62).state, RoomState::kFailed);  // forgotten: "not open"
  EXPECT_EQ(prefill->stats().open_rooms, 0);
}

TEST_P(PdTransport, DuplicateRoomsAreRefused) {
  ASSERT_TRUE(prefill->open_room(71, "a").ok());
  EXPECT_EQ(prefill->open_room(71, "b").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(decode->reserve(72, {"a", prefill->endpoint(), 4}).ok());
  EXPECT_EQ(decode->reserve(72, {"b", prefill->endpoint(), 4}).code(), StatusCode::kAlreadyExists);
}

INSTANTIATE_TEST_SUITE_P(Sockets, PdTransport, ::testing::Values("tcp", "ipc"));

TEST(PdTransportSetup, BindFailureSaysWhatToDo) {
  auto a = make_prefill_transport("zmq", "tcp://127.0.0.1:0", layout(), TransferOptions{});
  ASSERT_TRUE(a.ok());
  const std::string taken = fmt::format("tcp://127.0.0.1:{}", (*a)->port());
  auto b = make_prefill_transport("zmq", taken, layout(), TransferOptions{});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(b.status().message().find("--bootstrap-port"), std::string::npos);
  EXPECT_FALSE(make_prefill_transport("nixl", "tcp://127.0.0.1:0", layout(), TransferOptions{}).ok());
  EXPECT_EQ(bootstrap_endpoint("10.0.0.1", 8998), "tcp://10.0.0.1:8998");
  EXPECT_EQ(bootstrap_endpoint("::1", 8998), "tcp://[::1]:8998");
}

}  // namespace
}  // namespace tandem::pd
