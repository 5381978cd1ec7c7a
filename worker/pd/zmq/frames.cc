#include "worker/pd/zmq/frames.h"

#include <string>

namespace tandem::pd::zmq {

namespace {

::zmq::message_t serialize(const pb::Envelope& env) {
  std::string bytes = env.SerializeAsString();
  return ::zmq::message_t(bytes.data(), bytes.size());
}

// Frees the shared_ptr a zero-copy frame holds once libzmq is done with the bytes.
void release_staging(void* /*data*/, void* hint) {
  delete static_cast<std::shared_ptr<const KvStaging>*>(hint);
}

size_t expected_payload(const pb::Envelope& env) {
  if (env.msg_case() != pb::Envelope::kKvChunk) return 0;
  const pb::KvChunk& c = env.kv_chunk();
  const int64_t layers = int64_t{c.layer_end()} - c.layer_begin();
  return layers > 0 && layers < 1 << 20 ? static_cast<size_t>(2 * layers) : SIZE_MAX;
}

}  // namespace

const char* message_name(const pb::Envelope& env) {
  switch (env.msg_case()) {
    case pb::Envelope::kReserve: return "reserve";
    case pb::Envelope::kAccepted: return "accepted";
    case pb::Envelope::kKvChunk: return "kv_chunk";
    case pb::Envelope::kDone: return "done";
    case pb::Envelope::kAck: return "ack";
    case pb::Envelope::kFailed: return "failed";
    case pb::Envelope::kAbort: return "abort";
    case pb::Envelope::kHeartbeat: return "heartbeat";
    case pb::Envelope::MSG_NOT_SET: break;
  }
  return "empty";
}

Frames encode(const pb::Envelope& env) {
  Frames f;
  f.push_back(serialize(env));
  return f;
}

Frames encode_chunk(int32_t room, std::shared_ptr<const KvStaging> rows) {
  pb::Envelope env;
  pb::KvChunk* c = env.mutable_kv_chunk();
  c->set_room(room);
  c->set_first_token_index(rows->first_token_index);
  c->set_num_tokens(rows->num_tokens);
  c->set_layer_begin(rows->layer_begin);
  c->set_layer_end(rows->layer_end);
  Frames f;
  f.push_back(serialize(env));
  const size_t block = rows->block_bytes();
  for (int32_t l = rows->layer_begin; l < rows->layer_end; ++l) {
    for (const uint8_t* p : {rows->k(l), rows->v(l)}) {
      // libzmq's frame API takes a non-const pointer but only reads from it when sending.
      f.emplace_back(const_cast<uint8_t*>(p), block, &release_staging,
                     new std::shared_ptr<const KvStaging>(rows));
    }
  }
  return f;
}

StatusOr<Decoded> decode(Frames frames) {
  if (frames.empty()) return invalid_argument("empty message (no frames)");
  Decoded d;
  if (!d.env.ParseFromArray(frames[0].data(), static_cast<int>(frames[0].size()))) {
    return invalid_argument("undecodable envelope frame ({} bytes)", frames[0].size());
  }
  if (d.env.msg_case() == pb::Envelope::MSG_NOT_SET) {
    return invalid_argument("envelope carries no message ({} bytes)", frames[0].size());
  }
  const size_t want = expected_payload(d.env);
  if (frames.size() - 1 != want) {
    return invalid_argument("{} message with {} payload frames, expected {}", message_name(d.env),
                            frames.size() - 1, want == SIZE_MAX ? std::string("a valid layer range")
                                                                : std::to_string(want));
  }
  d.payload.reserve(frames.size() - 1);
  for (size_t i = 1; i < frames.size(); ++i) d.payload.push_back(std::move(frames[i]));
  return d;
}

StatusOr<KvRows> check_chunk(Decoded decoded, const KvLayout& layout, int32_t prompt_len) {
  const pb::KvChunk& c = decoded.env.kv_chunk();
  if (c.layer_begin() < 0 || c.layer_end() > layout.num_layers || c.layer_begin() >= c.layer_end()) {
    return invalid_argument("kv_chunk for room {}: layers [{}, {}) outside [0, {})", c.room(),
                            c.layer_begin(), c.layer_end(), layout.num_layers);
  }
  if (c.num_tokens() <= 0 || c.first_token_index() < 0 ||
      int64_t{c.first_token_index()} + c.num_tokens() > prompt_len) {
    return invalid_argument("kv_chunk for room {}: tokens [{}, +{}) outside the reserved {}",
                            c.room(), c.first_token_index(), c.num_tokens(), prompt_len);
  }
  const size_t block = static_cast<size_t>(c.num_tokens()) * layout.row_bytes();
  auto owner = std::make_shared<Frames>(std::move(decoded.payload));
  KvRows rows;
  rows.first_token_index = c.first_token_index();
  rows.num_tokens = c.num_tokens();
  rows.layer_begin = c.layer_begin();
  rows.layer_end = c.layer_end();
  for (size_t i = 0; i < owner->size(); ++i) {
    const ::zmq::message_t& m = (*owner)[i];
    if (m.size() != block) {
      return invalid_argument("kv_chunk for room {}: frame {} has {} bytes, expected {} ({} tokens "
                              "x {} bytes per row)",
                              c.room(), i + 1, m.size(), block, c.num_tokens(), layout.row_bytes());
    }
    std::span<const uint8_t> s(static_cast<const uint8_t*>(m.data()), m.size());
    (i % 2 == 0 ? rows.k : rows.v).push_back(s);
  }
  rows.owner = std::move(owner);
  return rows;
}

pb::KvLayout to_proto(const KvLayout& l) {
  pb::KvLayout p;
  p.set_num_layers(l.num_layers);
  p.set_kv_heads(l.kv_heads);
  p.set_head_dim(l.head_dim);
  p.set_dtype(l.dtype == DType::kF16 ? "f16" : l.dtype == DType::kBF16 ? "bf16" : "f32");
  p.set_page_size(l.page_size);
  p.set_tp_rank(l.tp_rank);
  p.set_tp_size(l.tp_size);
  return p;
}

StatusOr<KvLayout> from_proto(const pb::KvLayout& p) {
  KvLayout l;
  l.num_layers = p.num_layers();
  l.kv_heads = p.kv_heads();
  l.head_dim = p.head_dim();
  l.page_size = p.page_size();
  l.tp_rank = p.tp_rank();
  l.tp_size = p.tp_size();
  if (p.dtype() == "f32") {
    l.dtype = DType::kF32;
  } else if (p.dtype() == "f16") {
    l.dtype = DType::kF16;
  } else if (p.dtype() == "bf16") {
    l.dtype = DType::kBF16;
  } else {
    return invalid_argument("KV layout dtype '{}' is not a KV cache type (f32, f16, bf16)", p.dtype());
  }
  if (l.num_layers <= 0 || l.kv_heads <= 0 || l.head_dim <= 0) {
    return invalid_argument("KV layout has non-positive dimensions: {}", l.to_string());
  }
  return l;
}

}  // namespace tandem::pd::zmq
