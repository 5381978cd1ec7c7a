#include "worker/pd/kv_rows.h"

#include <cstring>

#include "common/check.h"

namespace tandem::pd {

KvLayout layout_of(const runtime::KvCache& kv, int32_t kv_heads, int32_t head_dim, int32_t page_size,
                   int32_t tp_size) {
  CHECK(tp_size > 1 || kv.kv_dim() == kv_heads * head_dim, "kv_dim {} is not {} kv heads x {}", kv.kv_dim(), kv_heads,
        head_dim);
  KvLayout l;
  l.num_layers = kv.num_layers();
  l.kv_heads = kv_heads;
  l.head_dim = head_dim;
  l.dtype = kv.dtype();
  l.page_size = page_size;
  l.tp_size = tp_size;
  return l;
}

std::shared_ptr<KvStaging> gather_rows(runtime::KvCache& kv, std::span<const int32_t> slots,
                                       int32_t first_token_index) {
  CHECK(!kv.on_device(), "PD KV gather reads host memory; device KV caches are refused at start-up");
  auto s = std::make_shared<KvStaging>();
  s->first_token_index = first_token_index;
  s->num_tokens = static_cast<int32_t>(slots.size());
  s->layer_begin = 0;
  s->layer_end = kv.num_layers();
  s->row_bytes = row_bytes(kv.dtype(), kv.kv_dim());
  s->bytes.resize(2 * static_cast<size_t>(kv.num_layers()) * s->block_bytes());
  const size_t rb = s->row_bytes;
  for (int32_t l = 0; l < kv.num_layers(); ++l) {
    const auto* k = static_cast<const uint8_t*>(kv.k(l));
    const auto* v = static_cast<const uint8_t*>(kv.v(l));
    uint8_t* ko = s->k(l);
    uint8_t* vo = s->v(l);
    for (size_t i = 0; i < slots.size(); ++i) {
      const size_t off = static_cast<size_t>(slots[i]) * rb;
      std::memcpy(ko + i * rb, k + off, rb);
      std::memcpy(vo + i * rb, v + off, rb);
    }
  }
  return s;
}

Status check_rows_fit(const KvRows& rows, size_t num_slots, int32_t num_layers, size_t row_bytes) {
  const size_t block = static_cast<size_t>(rows.num_tokens) * row_bytes;
  const int32_t layers = rows.layer_end - rows.layer_begin;
  if (rows.first_token_index < 0 || rows.num_tokens <= 0 ||
      int64_t{rows.first_token_index} + rows.num_tokens > static_cast<int64_t>(num_slots)) {
    return make_status(StatusCode::kOutOfRange, "KV rows for tokens [{}, +{}) outside the {} reserved slots",
                       rows.first_token_index, rows.num_tokens, num_slots);
  }
  if (rows.layer_begin < 0 || rows.layer_end > num_layers || layers <= 0 ||
      rows.k.size() != static_cast<size_t>(layers) || rows.v.size() != static_cast<size_t>(layers)) {
    return make_status(StatusCode::kOutOfRange, "KV rows for layers [{}, {}) ({} K / {} V frames) do not fit "
                       "a {}-layer cache", rows.layer_begin, rows.layer_end, rows.k.size(), rows.v.size(),
                       num_layers);
  }
  for (int32_t i = 0; i < layers; ++i) {
    if (rows.k[i].size() != block || rows.v[i].size() != block) {
      return make_status(StatusCode::kOutOfRange, "KV rows of layer {}: {} / {} bytes, expected {}",
                         rows.layer_begin + i, rows.k[i].size(), rows.v[i].size(), block);
    }
  }
  return Status::Ok();
}

Status scatter_rows(runtime::KvCache& kv, const KvRows& rows, std::span<const int32_t> slots) {
  CHECK(!kv.on_device(), "PD KV scatter writes host memory; device KV caches are refused at start-up");
  const size_t rb = row_bytes(kv.dtype(), kv.kv_dim());
  RETURN_IF_ERROR(check_rows_fit(rows, slots.size(), kv.num_layers(), rb));
  const int32_t layers = rows.layer_end - rows.layer_begin;
  for (int32_t i = 0; i < layers; ++i) {
    auto* k = static_cast<uint8_t*>(kv.k(rows.layer_begin + i));
    auto* v = static_cast<uint8_t*>(kv.v(rows.layer_begin + i));
    for (int32_t t = 0; t < rows.num_tokens; ++t) {
      const size_t off = static_cast<size_t>(slots[rows.first_token_index + t]) * rb;
      std::memcpy(k + off, rows.k[i].data() + t * rb, rb);
      std::memcpy(v + off, rows.v[i].data() + t * rb, rb);
    }
  }
  return Status::Ok();
}

namespace {

class LocalKvRowIo final : public KvRowIo {
 public:
  explicit LocalKvRowIo(runtime::KvCache& kv) : kv_(kv) {}
  std::shared_ptr<KvStaging> gather(std::span<const int32_t> slots, int32_t first_token_index) override {
    return gather_rows(kv_, slots, first_token_index);
  }
  Status scatter(const KvRows& rows, std::span<const int32_t> slots) override { return scatter_rows(kv_, rows, slots); }

 private:
  runtime::KvCache& kv_;
};

}  // namespace

std::unique_ptr<KvRowIo> local_kv_row_io(runtime::KvCache& kv) { return std::make_unique<LocalKvRowIo>(kv); }

}  // namespace tandem::pd
