// KvLayout: what a KV cache looks like to the other side of a transfer — layers, heads, head size,
// element type, page size and tensor-parallel position. The decode side sends its layout with each
// reservation; the prefill side refuses layouts whose rows it cannot produce. Page sizes may differ:
// rows travel per token and each side maps them into its own slots. Plain value; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/dtype.h"
#include "common/status.h"

namespace tandem::pd {

struct KvLayout {
  int32_t num_layers = 0;
  int32_t kv_heads = 0;
  int32_t head_dim = 0;
  DType dtype = DType::kF32;
  int32_t page_size = 1;
  int32_t tp_rank = 0;
  int32_t tp_size = 1;

  int32_t kv_dim() const { return kv_heads * head_dim; }
  // Bytes of one token's K (or V) row in one layer.
  size_t row_bytes() const;
  std::string to_string() const;
};

// Ok when `theirs` (the peer's) rows can be copied row for row into / out of `mine`: same layers,
// kv heads, head size and dtype (TP sizes may differ: wire rows hold every KV head).
// kFailedPrecondition with both layouts otherwise.
Status check_compatible(const KvLayout& mine, const KvLayout& theirs);

}  // namespace tandem::pd
