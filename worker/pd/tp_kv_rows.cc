#include "worker/pd/tp_kv_rows.h"

#include <cstring>

#include "common/check.h"

namespace tandem::pd {

namespace {

// Payload framing: int32 fields, then raw bytes.
void put_i32(std::string& out, int32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_i32s(std::string& out, std::span<const int32_t> v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t));
}

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  StatusOr<int32_t> i32() {
    if (at_ + 4 > s_.size()) return data_loss("kv command payload ends early at byte {}", at_);
    int32_t v;
    std::memcpy(&v, s_.data() + at_, 4);
    at_ += 4;
    return v;
  }
  StatusOr<std::vector<int32_t>> i32s(int32_t n) {
    if (n < 0 || at_ + static_cast<size_t>(n) * 4 > s_.size()) return data_loss("kv command payload: bad count {}", n);
    std::vector<int32_t> v(n);
    std::memcpy(v.data(), s_.data() + at_, static_cast<size_t>(n) * 4);
    at_ += static_cast<size_t>(n) * 4;
    return v;
  }
  StatusOr<std::span<const uint8_t>> bytes(size_t n) {
    if (at_ + n > s_.size()) return data_loss("kv command payload ends early: {} bytes wanted at {}", n, at_);
    std::span<const uint8_t> v(reinterpret_cast<const uint8_t*>(s_.data()) + at_, n);
    at_ += n;
    return v;
  }

 private:
  const std::string& s_;
  size_t at_ = 0;
};

// Bytes of one KV head's part of a row.
size_t head_bytes(const runtime::KvCache& kv, const model::ModelConfig& c) { return row_bytes(kv.dtype(), c.head_dim); }

// kKvScatter payload: num_tokens, layer_begin, layer_end, the tokens' slots, then per layer the
// full K rows and the full V rows. Every rank writes its KV heads' part.
Status write_my_heads(const std::string& payload, runtime::KvCache& kv, const model::ModelConfig& c,
                      const model::TpShard& sh) {
  Reader r(payload);
  ASSIGN_OR_RETURN(int32_t n, r.i32());
  ASSIGN_OR_RETURN(int32_t lb, r.i32());
  ASSIGN_OR_RETURN(int32_t le, r.i32());
  ASSIGN_OR_RETURN(std::vector<int32_t> slots, r.i32s(n));
  if (lb < 0 || le > kv.num_layers() || lb >= le) return data_loss("kv scatter: layers [{}, {})", lb, le);
  const size_t hb = head_bytes(kv, c);
  const size_t full = hb * c.num_kv_heads, mine = hb * sh.num_kv_heads, off = hb * sh.kv_head_begin;
  CHECK(mine == row_bytes(kv.dtype(), kv.kv_dim()), "rank's KV rows are {} bytes, its heads make {}",
        row_bytes(kv.dtype(), kv.kv_dim()), mine);
  for (int32_t t = 0; t < n; ++t) {
    if (slots[t] < 0 || slots[t] >= kv.num_slots()) return data_loss("kv scatter: slot {}", slots[t]);
  }
  // This rank's heads of every row, packed per layer as a chunk of tokens [0, n) into `slots`, so
  // scatter_rows writes them (host memcpy, or one upload and scatter_slots for a device cache).
  std::vector<std::vector<uint8_t>> parts;
  parts.reserve(2 * static_cast<size_t>(le - lb));
  KvRows mine_rows;
  mine_rows.num_tokens = n;
  mine_rows.layer_begin = lb;
  mine_rows.layer_end = le;
  for (int32_t l = lb; l < le; ++l) {
    for (int kv_half = 0; kv_half < 2; ++kv_half) {
      ASSIGN_OR_RETURN(std::span<const uint8_t> rows, r.bytes(full * n));
      std::vector<uint8_t>& part = parts.emplace_back(mine * n);
      for (int32_t t = 0; t < n; ++t) std::memcpy(part.data() + t * mine, rows.data() + t * full + off, mine);
      (kv_half == 0 ? mine_rows.k : mine_rows.v).emplace_back(part.data(), part.size());
    }
  }
  if (n == 0) return Status::Ok();
  return scatter_rows(kv, mine_rows, slots);
}

class TpKvRowIo final : public KvRowIo {
 public:
  TpKvRowIo(runtime::KvCache& kv, const model::ModelConfig& c, const model::TpShard& sh, runtime::TpLeader& leader,
            runtime::ControlChannel& channel)
      : kv_(kv), c_(c), sh_(sh), leader_(leader), channel_(channel), local_(local_kv_row_io(kv)) {
    for (int r = 0; r < sh.size; ++r) {
      auto s = model::plan_tp_shard(c, r, sh.size);
      CHECK(s.ok(), "{}", s.status().to_string());
      shards_.push_back(*s);
    }
  }

  std::shared_ptr<KvStaging> gather(std::span<const int32_t> slots, int32_t first_token_index) override {
    std::string payload;
    put_i32(payload, first_token_index);
    put_i32(payload, static_cast<int32_t>(slots.size()));
    put_i32s(payload, slots);
    leader_.send(runtime::TpCommand::kKvGather, payload);
    std::shared_ptr<KvStaging> mine = local_->gather(slots, first_token_index);
    std::vector<std::string> parts;
    channel_.gather(std::string(reinterpret_cast<const char*>(mine->data()), mine->size()), &parts, 0);
    parts[0].clear();  // rank 0's part is `mine`

    // Lay the parts side by side: head h comes from the first rank holding it.
    const size_t hb = head_bytes(kv_, c_);
    auto out = std::make_shared<KvStaging>();
    out->first_token_index = first_token_index;
    out->num_tokens = mine->num_tokens;
    out->layer_begin = mine->layer_begin;
    out->layer_end = mine->layer_end;
    out->row_bytes = hb * c_.num_kv_heads;
    out->bytes.resize(2 * static_cast<size_t>(out->layer_end - out->layer_begin) * out->block_bytes());
    const size_t n = static_cast<size_t>(out->num_tokens);
    for (int h = 0; h < c_.num_kv_heads; ++h) {
      int owner = 0;
      while (!(h >= shards_[owner].kv_head_begin && h < shards_[owner].kv_head_begin + shards_[owner].num_kv_heads)) ++owner;
      const model::TpShard& o = shards_[owner];
      const uint8_t* src = owner == 0 ? mine->data() : reinterpret_cast<const uint8_t*>(parts[owner].data());
      const size_t src_row = hb * o.num_kv_heads, src_off = hb * (h - o.kv_head_begin);
      CHECK((owner == 0 ? mine->size() : parts[owner].size()) ==
                2 * static_cast<size_t>(out->layer_end - out->layer_begin) * n * src_row,
            "rank {} sent {} bytes of KV rows", owner, parts[owner].size());
      // Both buffers are [layer][K rows, V rows][token][row]: walk them as 2·layers·n rows.
      const size_t rows = 2 * static_cast<size_t>(out->layer_end - out->layer_begin) * n;
      for (size_t i = 0; i < rows; ++i) {
        std::memcpy(out->bytes.data() + i * out->row_bytes + hb * h, src + i * src_row + src_off, hb);
      }
    }
    return out;
  }

  Status scatter(const KvRows& rows, std::span<const int32_t> slots) override {
    const size_t full = head_bytes(kv_, c_) * c_.num_kv_heads;
    const int32_t layers = rows.layer_end - rows.layer_begin;
    RETURN_IF_ERROR(check_rows_fit(rows, slots.size(), kv_.num_layers(), full));
    std::string payload;
    put_i32(payload, rows.num_tokens);
    put_i32(payload, rows.layer_begin);
    put_i32(payload, rows.layer_end);
    put_i32s(payload, slots.subspan(rows.first_token_index, rows.num_tokens));
    for (int32_t i = 0; i < layers; ++i) {
      for (const std::span<const uint8_t>& part : {rows.k[i], rows.v[i]}) {
        payload.append(reinterpret_cast<const char*>(part.data()), part.size());
      }
    }
    leader_.send(runtime::TpCommand::kKvScatter, payload);
    Status st = write_my_heads(payload, kv_, c_, sh_);
    CHECK(st.ok(), "rank 0 cannot write rows it validated: {}", st.to_string());
    return st;
  }

 private:
  runtime::KvCache& kv_;
  model::ModelConfig c_;
  model::TpShard sh_;
  runtime::TpLeader& leader_;
  runtime::ControlChannel& channel_;
  std::vector<model::TpShard> shards_;
  std::unique_ptr<KvRowIo> local_;  // rank 0's own rows (keeps a device cache's staging)
};

}  // namespace

std::unique_ptr<KvRowIo> tp_kv_row_io(runtime::KvCache& kv, const model::ModelConfig& config,
                                      const model::TpShard& shard, runtime::TpLeader& leader,
                                      runtime::ControlChannel& channel) {
  return std::make_unique<TpKvRowIo>(kv, config, shard, leader, channel);
}

Status follow_kv_command(const runtime::TpStep& step, runtime::KvCache& kv, const model::ModelConfig& config,
                         const model::TpShard& shard, runtime::ControlChannel& channel) {
  if (step.command == runtime::TpCommand::kKvScatter) return write_my_heads(step.payload, kv, config, shard);
  if (step.command != runtime::TpCommand::kKvGather) {
    return unimplemented("tp command {} is not a KV command", static_cast<uint32_t>(step.command));
  }
  Reader r(step.payload);
  ASSIGN_OR_RETURN(int32_t first, r.i32());
  ASSIGN_OR_RETURN(int32_t n, r.i32());
  ASSIGN_OR_RETURN(std::vector<int32_t> slots, r.i32s(n));
  for (int32_t s : slots) {
    if (s < 0 || s >= kv.num_slots()) return data_loss("kv gather: slot {} outside {}", s, kv.num_slots());
  }
  std::shared_ptr<KvStaging> mine = gather_rows(kv, slots, first);
  channel.gather(std::string(reinterpret_cast<const char*>(mine->data()), mine->size()), nullptr, 0);
  return Status::Ok();
}

}  // namespace tandem::pd
