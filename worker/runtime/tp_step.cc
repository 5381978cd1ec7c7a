#include "worker/runtime/tp_step.h"

#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

namespace tandem::runtime {

uint64_t hash_step(const model::ForwardBatch& batch, const std::string& payload);

namespace {

struct Header {
  uint32_t magic;
  uint32_t command;
  uint64_t step;
  uint64_t hash;
  uint32_t sizes[8];
  uint64_t payload;
};
constexpr uint32_t kMagic = 0x54505331;  // "TPS1"

// The batch's arrays in one fixed order (encode, decode and hash agree on it).
template <typename Batch, typename Fn>
void for_each_array(Batch& b, Fn&& fn) {
  fn(b.tokens);
  fn(b.positions);
  fn(b.new_slots);
  fn(b.q_offsets);
  fn(b.ctx_lens);
  fn(b.slot_offsets);
  fn(b.slots);
  fn(b.logit_rows);
}

}  // namespace

uint64_t hash_batch(const model::ForwardBatch& batch) { return hash_step(batch, {}); }

uint64_t hash_step(const model::ForwardBatch& batch, const std::string& payload) {
  // FNV-1a over the arrays and their lengths, then the payload.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  };
  for_each_array(batch, [&](const std::vector<int32_t>& a) {
    const uint64_t n = a.size();
    mix(&n, sizeof n);
    mix(a.data(), a.size() * sizeof(int32_t));
  });
  mix(payload.data(), payload.size());
  return h;
}

std::string encode_tp_step(TpCommand command, uint64_t step, const model::ForwardBatch& batch,
                           const std::string& payload) {
  Header h{};
  h.magic = kMagic;
  h.command = static_cast<uint32_t>(command);
  h.step = step;
  h.hash = hash_step(batch, payload);
  h.payload = payload.size();
  size_t total = sizeof h + payload.size();
  int i = 0;
  for_each_array(batch, [&](const std::vector<int32_t>& a) {
    h.sizes[i++] = static_cast<uint32_t>(a.size());
    total += a.size() * sizeof(int32_t);
  });
  std::string out(total, '\0');
  std::memcpy(out.data(), &h, sizeof h);
  size_t at = sizeof h;
  for_each_array(batch, [&](const std::vector<int32_t>& a) {
    std::memcpy(out.data() + at, a.data(), a.size() * sizeof(int32_t));
    at += a.size() * sizeof(int32_t);
  });
  std::memcpy(out.data() + at, payload.data(), payload.size());
  return out;
}

StatusOr<TpStep> decode_tp_step(const std::string& bytes) {
  Header h;
  if (bytes.size() < sizeof h) return data_loss("tp step message of {} bytes is shorter than its header", bytes.size());
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.magic != kMagic) return data_loss("tp step message has magic {:#x}, expected {:#x}", h.magic, kMagic);
  if (h.command < static_cast<uint32_t>(TpCommand::kForward) || h.command > static_cast<uint32_t>(TpCommand::kKvScatter)) {
    return data_loss("tp step message has unknown command {}", h.command);
  }
  size_t want = sizeof h + h.payload;
  for (uint32_t n : h.sizes) want += static_cast<size_t>(n) * sizeof(int32_t);
  if (want != bytes.size()) return data_loss("tp step message is {} bytes, its header says {}", bytes.size(), want);
  TpStep s;
  s.command = static_cast<TpCommand>(h.command);
  s.step = h.step;
  size_t at = sizeof h;
  int i = 0;
  for_each_array(s.batch, [&](std::vector<int32_t>& a) {
    a.resize(h.sizes[i++]);
    std::memcpy(a.data(), bytes.data() + at, a.size() * sizeof(int32_t));
    at += a.size() * sizeof(int32_t);
  });
  s.payload.assign(bytes, at, h.payload);
  if (hash_step(s.batch, s.payload) != h.hash) return data_loss("tp step {}: the batch does not hash to what rank 0 sent", h.step);
  return s;
}

void TpLeader::forward(const model::ForwardBatch& batch) {
  buf_ = encode_tp_step(TpCommand::kForward, ++step_, batch);
  channel_.broadcast(buf_, 0);
}

void TpLeader::send(TpCommand command, const std::string& payload) {
  buf_ = encode_tp_step(command, ++step_, model::ForwardBatch{}, payload);
  channel_.broadcast(buf_, 0);
}

void TpLeader::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  buf_ = encode_tp_step(TpCommand::kShutdown, ++step_, model::ForwardBatch{});
  channel_.broadcast(buf_, 0);
}

Status run_tp_follower(ControlChannel& channel, model::LlamaModel& model, KvCache& kv,
                       const TpCommandHandler& other) {
  std::string buf;
  std::vector<float> logits;
  uint64_t expected = 1;
  while (true) {
    channel.broadcast(buf, 0);
    ASSIGN_OR_RETURN(TpStep s, decode_tp_step(buf));
    if (s.step != expected) {
      return data_loss("rank {} expected tp step {} but rank 0 sent step {}", channel.rank(), expected, s.step);
    }
    ++expected;
    if (s.command == TpCommand::kShutdown) return Status::Ok();
    if (s.command != TpCommand::kForward) {
      if (!other) return unimplemented("rank {} got tp command {} it has no handler for", channel.rank(),
                                       static_cast<uint32_t>(s.command));
      RETURN_IF_ERROR(other(s));
      continue;
    }
    // Only rank 0 samples: a device rank leaves its copy of the logits where they are.
    const bool device = model.backend().is_device();
    if (!device) logits.resize(s.batch.logit_rows.size() * static_cast<size_t>(model.config().vocab_size));
    model.forward(s.batch, kv, device ? nullptr : logits.data());
    spdlog::trace("tp rank {} step {}: {} tokens, {} sequences", channel.rank(), s.step, s.batch.num_tokens(),
               s.batch.num_seqs());
  }
}

}  // namespace tandem::runtime
