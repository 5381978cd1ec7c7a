// The one place KV rows leave or enter a KvCache for a transfer: gather (prefill side: copy the
// rows of some slots, all layers, into a staging buffer the transport sends) and scatter (decode
// side: copy received rows into reserved slots), for F32/F16/BF16 caches. Host caches: memcpy.
// Device caches (kv.on_device()): the slot list is uploaded, every layer's rows are gathered by
// the backend's gather_slots into one device buffer and copied once into pinned host memory
// (scatter: the reverse, with scatter_slots); the wire format is the same either way. Engine
// thread only (the cache and its backend are).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "worker/pd/kv_transfer.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::pd {

// The layout of `kv` as a transfer peer sees it: rows of all `kv_heads` (the model's, also when
// this cache holds only a tensor-parallel rank's share of them; tp_size says how many ranks).
KvLayout layout_of(const runtime::KvCache& kv, int32_t kv_heads, int32_t head_dim, int32_t page_size,
                   int32_t tp_size = 1);

// Rows of tokens [first_token_index, first_token_index + slots.size()) whose KV lives in `slots`,
// every layer, into one staging buffer (layer-major: K rows then V rows per layer).
std::shared_ptr<KvStaging> gather_rows(runtime::KvCache& kv, std::span<const int32_t> slots,
                                       int32_t first_token_index);

// Writes a received chunk into `slots` (the request's slots, indexed by token: token i goes to
// slots[i]). kOutOfRange when the chunk's tokens or layers fall outside `slots` / the cache, or a
// frame has the wrong size; nothing is written then.
Status scatter_rows(runtime::KvCache& kv, const KvRows& rows, std::span<const int32_t> slots);
// The checks scatter_rows makes before writing: tokens inside `num_slots`, layers inside
// `num_layers`, every frame num_tokens × row_bytes. kOutOfRange saying which.
Status check_rows_fit(const KvRows& rows, size_t num_slots, int32_t num_layers, size_t row_bytes);

// How an engine moves its KV rows for transfers: gather / scatter above on its own cache, or, in a
// tensor-parallel worker, across its ranks (tp_kv_rows.h). Rows on the wire hold every KV head.
class KvRowIo {
 public:
  virtual ~KvRowIo() = default;
  virtual std::shared_ptr<KvStaging> gather(std::span<const int32_t> slots, int32_t first_token_index) = 0;
  virtual Status scatter(const KvRows& rows, std::span<const int32_t> slots) = 0;
};
// For a device cache it keeps its device and pinned staging between transfers (the free functions
// above allocate them per call).
std::unique_ptr<KvRowIo> local_kv_row_io(runtime::KvCache& kv);

}  // namespace tandem::pd
