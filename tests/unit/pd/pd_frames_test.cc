// Framing of the KV transfer protocol: control messages and chunks survive encode/decode, chunk
// frames are zero-copy views of the staging buffer, and malformed input is refused with a reason.
#include <gtest/gtest.h>

#include <random>

#include "worker/pd/zmq/frames.h"

namespace tandem::pd::zmq {
namespace {

KvLayout small_layout() {
  KvLayout l;
  l.num_layers = 3;
  l.kv_heads = 2;
  l.head_dim = 4;
  l.dtype = DType::kF16;
  l.page_size = 1;
  return l;
}

std::shared_ptr<KvStaging> random_staging(const KvLayout& l, int32_t first, int32_t n, uint32_t seed) {
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

TEST(PdFrames, ControlMessageRoundTrip) {
  pb::Envelope e;
  pb::Done* d = e.mutable_done();
  d->set_room(77);
  d->set_first_token(1234);
  d->set_has_logprob(true);
  d->set_logprob(-0.5f);
  d->add_top_logprobs()->set_token(9);
  StatusOr<Decoded> got = decode(encode(e));
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->env.done().room(), 77);
  EXPECT_EQ(got->env.done().first_token(), 1234);
  EXPECT_FLOAT_EQ(got->env.done().logprob(), -0.5f);
  EXPECT_EQ(got->env.done().top_logprobs(0).token(), 9);
  EXPECT_TRUE(got->payload.empty());
  EXPECT_STREQ(message_name(got->env), "done");
}

TEST(PdFrames, ChunkFramesPointIntoTheStagingBufferAndDecodeExactly) {
  const KvLayout l = small_layout();
  auto s = random_staging(l, 5, 7, 1);
  Frames f = encode_chunk(42, s);
  ASSERT_EQ(f.size(), 1u + 2 * 3);
  EXPECT_EQ(f[1].data(), static_cast<const void*>(s->k(0)));  // zero-copy
  EXPECT_EQ(f[2].data(), static_cast<const void*>(s->v(0)));
  StatusOr<Decoded> d = decode(std::move(f));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  StatusOr<KvRows> rows = check_chunk(std::move(*d), l, 12);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  EXPECT_EQ(rows->first_token_index, 5);
  EXPECT_EQ(rows->num_tokens, 7);
  for (int32_t layer = 0; layer < 3; ++layer) {
    ASSERT_EQ(rows->k[layer].size(), s->block_bytes());
    EXPECT_EQ(0, std::memcmp(rows->k[layer].data(), s->k(layer), s->block_bytes()));
    EXPECT_EQ(0, std::memcmp(rows->v[layer].data(), s->v(layer), s->block_bytes()));
  }
}

TEST(PdFrames, MalformedMessagesAreRefused) {
  EXPECT_FALSE(decode(Frames{}).ok());
  Frames garbage;
  garbage.emplace_back(std::string("\xff\xff\xff\xff not a protobuf"));
  EXPECT_FALSE(decode(std::move(garbage)).ok());
  Frames empty_env;
  empty_env.emplace_back(std::string());
  EXPECT_FALSE(decode(std::move(empty_env)).ok());  // parses, but carries no message
  // A control message with payload frames, and a chunk missing frames.
  pb::Envelope ack;
  ack.mutable_ack()->set_room(1);
  Frames extra = encode(ack);
  extra.emplace_back(std::string("x"));
  EXPECT_FALSE(decode(std::move(extra)).ok());
  Frames chunk = encode_chunk(1, random_staging(small_layout(), 0, 2, 2));
  chunk.pop_back();
  StatusOr<Decoded> short_chunk = decode(std::move(chunk));
  ASSERT_FALSE(short_chunk.ok());
  EXPECT_NE(short_chunk.status().message().find("payload frames"), std::string::npos);
}

TEST(PdFrames, ChunkOutsideTheLayoutOrReservationIsRefused) {
  const KvLayout l = small_layout();
  // Tokens past the reservation.
  StatusOr<Decoded> d = decode(encode_chunk(1, random_staging(l, 10, 4, 3)));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(check_chunk(std::move(*d), l, 12).ok());
  // Rows of another width (the peer has a different head size).
  KvLayout wide = l;
  wide.head_dim = 8;
  d = decode(encode_chunk(1, random_staging(wide, 0, 4, 4)));
  ASSERT_TRUE(d.ok());
  StatusOr<KvRows> r = check_chunk(std::move(*d), l, 12);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bytes"), std::string::npos);
  // More layers than the receiver has.
  KvLayout deep = l;
  deep.num_layers = 4;
  d = decode(encode_chunk(1, random_staging(deep, 0, 4, 5)));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(check_chunk(std::move(*d), l, 12).ok());
}

TEST(PdFrames, LayoutTravelsAndIsChecked) {
  const KvLayout l = small_layout();
  StatusOr<KvLayout> back = from_proto(to_proto(l));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to_string(), l.to_string());
  KvLayout other_page = l;
  other_page.page_size = 16;
  EXPECT_TRUE(check_compatible(l, other_page).ok());  // page sizes may differ
  KvLayout other_dtype = l;
  other_dtype.dtype = DType::kF32;
  Status st = check_compatible(l, other_dtype);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("F32"), std::string::npos) << st.message();
  KvLayout tp2 = l;
  tp2.tp_size = 2;  // rows on the wire hold every KV head whatever each side's TP
  EXPECT_TRUE(check_compatible(l, tp2).ok());
  pb::KvLayout bad = to_proto(l);
  bad.set_dtype("q4_0");
  EXPECT_FALSE(from_proto(bad).ok());
}

}  // namespace
}  // namespace tandem::pd::zmq
