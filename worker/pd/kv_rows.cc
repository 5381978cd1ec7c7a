#include "worker/pd/kv_rows.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <mutex>

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

namespace {

std::shared_ptr<KvStaging> new_staging(const runtime::KvCache& kv, size_t num_tokens, int32_t first_token_index,
                                       bool host_bytes = true) {
  auto s = std::make_shared<KvStaging>();
  s->first_token_index = first_token_index;
  s->num_tokens = static_cast<int32_t>(num_tokens);
  s->layer_begin = 0;
  s->layer_end = kv.num_layers();
  s->row_bytes = row_bytes(kv.dtype(), kv.kv_dim());
  if (host_bytes) s->bytes.resize(2 * static_cast<size_t>(kv.num_layers()) * s->block_bytes());
  return s;
}

std::shared_ptr<KvStaging> gather_host(runtime::KvCache& kv, std::span<const int32_t> slots,
                                       int32_t first_token_index) {
  auto s = new_staging(kv, slots.size(), first_token_index);
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

void check_slots(const runtime::KvCache& kv, std::span<const int32_t> slots) {
  // A bad slot on the host path reads the wrong row; on a device it faults the whole context.
  for (int32_t slot : slots) {
    CHECK(slot >= 0 && slot < kv.num_slots(), "KV transfer slot {} outside the cache's {} slots", slot,
          kv.num_slots());
  }
}

// Pinned host blocks that gathered chunks are handed to the transport in (zero-copy to the
// socket): a block is lent with a KvStaging and comes back to `free` when the transport drops the
// staging (any thread, hence the mutex). Blocks are allocated and freed by the engine thread
// only (take / trim); blocks returned after the stager is gone are leaked (process exit).
struct PinnedPool {
  struct Block {
    void* p = nullptr;
    size_t bytes = 0;
  };
  std::mutex mu;
  std::vector<Block> free;  // guarded by mu
  bool orphaned = false;    // guarded by mu: the stager (and maybe its backend) is gone
};

// Staging for a device cache: the slot list and the packed rows in device memory, and pinned
// host memory for the copies (device <-> host copies from pageable memory go through a driver
// bounce buffer at a fraction of the bus rate: 10-16 vs 55 GB/s on an H200). Gather: every
// layer's rows with one kernel per K/V array into one device buffer, one copy into a pinned
// block that the staging (and the socket) then uses as is. Scatter: the chunk's frames packed
// into one pinned buffer, one copy to the device, one kernel per K/V array. Device buffers grow on
// demand and are kept. Engine thread only.
class DeviceKvStager {
 public:
  explicit DeviceKvStager(kernels::Backend& be) : be_(be), pool_(std::make_shared<PinnedPool>()) {}
  ~DeviceKvStager() {
    be_.free_host_pinned(pinned_);
    std::lock_guard<std::mutex> lock(pool_->mu);
    for (const PinnedPool::Block& b : pool_->free) be_.free_host_pinned(b.p);
    pool_->free.clear();
    pool_->orphaned = true;
  }
  DeviceKvStager(const DeviceKvStager&) = delete;
  DeviceKvStager& operator=(const DeviceKvStager&) = delete;

  std::shared_ptr<KvStaging> gather(runtime::KvCache& kv, std::span<const int32_t> slots, int32_t first_token_index) {
    check_slots(kv, slots);
    auto s = new_staging(kv, slots.size(), first_token_index, /*host_bytes=*/false);
    if (slots.empty()) return s;
    const size_t total = 2 * static_cast<size_t>(kv.num_layers()) * s->block_bytes();
    reserve_device(slots.size(), total);
    be_.copy_to_backend(slots_.get(), slots.data(), slots.size_bytes());
    const size_t block = s->block_bytes();
    auto* rows = rows_.as<uint8_t>();
    for (int32_t l = 0; l < kv.num_layers(); ++l) {
      be_.gather_slots(kv.k(l), s->row_bytes, slots_.as<int32_t>(), s->num_tokens, rows + 2 * l * block);
      be_.gather_slots(kv.v(l), s->row_bytes, slots_.as<int32_t>(), s->num_tokens, rows + (2 * l + 1) * block);
    }
    PinnedPool::Block b = take(total);
    be_.copy_to_host(b.p, rows, total);  // waits for the kernels
    s->external = static_cast<uint8_t*>(b.p);
    s->external_size = total;
    s->external_owner = std::shared_ptr<void>(b.p, [pool = pool_, b](void*) {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (!pool->orphaned) pool->free.push_back(b);
    });
    return s;
  }

  // `rows` was checked (check_rows_fit); `slots` are the chunk's own slots.
  void scatter(runtime::KvCache& kv, const KvRows& rows, std::span<const int32_t> slots) {
    check_slots(kv, slots);
    const size_t rb = row_bytes(kv.dtype(), kv.kv_dim());
    const size_t block = static_cast<size_t>(rows.num_tokens) * rb;
    const int32_t layers = rows.layer_end - rows.layer_begin;
    const size_t total = 2 * static_cast<size_t>(layers) * block;
    reserve_device(slots.size(), total);
    if (pinned_bytes_ < total) {
      be_.free_host_pinned(pinned_);
      pinned_ = be_.alloc_host_pinned(total);
      pinned_bytes_ = total;
    }
    auto* pinned = static_cast<uint8_t*>(pinned_);
    for (int32_t i = 0; i < layers; ++i) {
      std::memcpy(pinned + 2 * i * block, rows.k[i].data(), block);
      std::memcpy(pinned + (2 * i + 1) * block, rows.v[i].data(), block);
    }
    be_.copy_to_backend(slots_.get(), slots.data(), slots.size_bytes());
    be_.copy_to_backend(rows_.get(), pinned_, total);
    auto* dev = rows_.as<uint8_t>();
    for (int32_t i = 0; i < layers; ++i) {
      be_.scatter_slots(kv.k(rows.layer_begin + i), rb, slots_.as<int32_t>(), rows.num_tokens, dev + 2 * i * block);
      be_.scatter_slots(kv.v(rows.layer_begin + i), rb, slots_.as<int32_t>(), rows.num_tokens,
                        dev + (2 * i + 1) * block);
    }
    // The pinned buffer is refilled by the next call while this copy may still be queued.
    be_.synchronize();
  }

 private:
  // Blocks kept free beyond this many are freed (a long prompt's chunks are a few blocks).
  static constexpr size_t kMaxFreeBlocks = 4;

  void reserve_device(size_t num_slots, size_t bytes) {
    if (slots_.bytes() < num_slots * sizeof(int32_t)) slots_ = kernels::BackendBuffer(be_, num_slots * sizeof(int32_t));
    if (rows_.bytes() < bytes) rows_ = kernels::BackendBuffer(be_, bytes);
  }

  // A free pinned block of at least `bytes` (the smallest that fits), else a new one.
  PinnedPool::Block take(size_t bytes) {
    std::vector<PinnedPool::Block> extra;
    PinnedPool::Block got;
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      auto& f = pool_->free;
      auto best = f.end();
      for (auto it = f.begin(); it != f.end(); ++it) {
        if (it->bytes >= bytes && (best == f.end() || it->bytes < best->bytes)) best = it;
      }
      if (best != f.end()) {
        got = *best;
        f.erase(best);
      }
      while (f.size() > kMaxFreeBlocks) {
        extra.push_back(f.front());
        f.erase(f.begin());
      }
    }
    for (const PinnedPool::Block& b : extra) be_.free_host_pinned(b.p);
    if (!got.p) {
      // Power-of-two sizes (at least 1 MiB): chunks of varying length then reuse blocks instead of
      // pinning a new one each time a chunk is a little larger than the last.
      const size_t cap = std::bit_ceil(std::max(bytes, size_t{1} << 20));
      got = {be_.alloc_host_pinned(cap), cap};
    }
    return got;
  }

  kernels::Backend& be_;
  kernels::BackendBuffer slots_, rows_;
  std::shared_ptr<PinnedPool> pool_;
  void* pinned_ = nullptr;  // scatter's staging
  size_t pinned_bytes_ = 0;
};

}  // namespace

std::shared_ptr<KvStaging> gather_rows(runtime::KvCache& kv, std::span<const int32_t> slots,
                                       int32_t first_token_index) {
  if (!kv.on_device()) return gather_host(kv, slots, first_token_index);
  DeviceKvStager stager(*kv.backend());
  std::shared_ptr<KvStaging> s = stager.gather(kv, slots, first_token_index);
  // The stager and its pinned pool end here: the rows move into the staging's own bytes.
  if (s->external) {
    s->bytes.assign(s->external, s->external + s->external_size);
    s->external = nullptr;
    s->external_size = 0;
    s->external_owner.reset();
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
  const size_t rb = row_bytes(kv.dtype(), kv.kv_dim());
  RETURN_IF_ERROR(check_rows_fit(rows, slots.size(), kv.num_layers(), rb));
  if (kv.on_device()) {
    DeviceKvStager stager(*kv.backend());
    stager.scatter(kv, rows, slots.subspan(rows.first_token_index, rows.num_tokens));
    return Status::Ok();
  }
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
  explicit LocalKvRowIo(runtime::KvCache& kv) : kv_(kv) {
    if (kv.on_device()) stager_ = std::make_unique<DeviceKvStager>(*kv.backend());
  }
  std::shared_ptr<KvStaging> gather(std::span<const int32_t> slots, int32_t first_token_index) override {
    if (stager_) return stager_->gather(kv_, slots, first_token_index);
    return gather_rows(kv_, slots, first_token_index);
  }
  Status scatter(const KvRows& rows, std::span<const int32_t> slots) override {
    if (!stager_) return scatter_rows(kv_, rows, slots);
    RETURN_IF_ERROR(check_rows_fit(rows, slots.size(), kv_.num_layers(), row_bytes(kv_.dtype(), kv_.kv_dim())));
    stager_->scatter(kv_, rows, slots.subspan(rows.first_token_index, rows.num_tokens));
    return Status::Ok();
  }

 private:
  runtime::KvCache& kv_;
  std::unique_ptr<DeviceKvStager> stager_;  // device caches: staging kept between transfers
};

}  // namespace

std::unique_ptr<KvRowIo> local_kv_row_io(runtime::KvCache& kv) { return std::make_unique<LocalKvRowIo>(kv); }

}  // namespace tandem::pd
