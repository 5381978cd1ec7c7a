#include "worker/pd/kv_layout.h"

#include <fmt/format.h>

namespace tandem::pd {

size_t KvLayout::row_bytes() const { return tandem::row_bytes(dtype, kv_dim()); }

std::string KvLayout::to_string() const {
  return fmt::format("{} layers x {} kv heads x {} dim {} (page {}, tp {}/{})", num_layers, kv_heads,
                     head_dim, dtype_name(dtype), page_size, tp_rank, tp_size);
}

Status check_compatible(const KvLayout& mine, const KvLayout& theirs) {
  // tp_rank / tp_size are informational: rows on the wire always hold every KV head (a tensor-
  // parallel side gathers or scatters them across its ranks by head), so any TP pairs with any.
  if (mine.num_layers != theirs.num_layers || mine.kv_heads != theirs.kv_heads ||
      mine.head_dim != theirs.head_dim || mine.dtype != theirs.dtype) {
    return failed_precondition_error(
        "KV layout mismatch: this side has {}, the peer has {}; both workers must serve the same "
        "model with the same --kv-dtype",
        mine.to_string(), theirs.to_string());
  }
  if (mine.page_size < 1 || theirs.page_size < 1) {
    return failed_precondition_error("KV layout: page size must be >= 1 (here {}, peer {})",
                                     mine.page_size, theirs.page_size);
  }
  return Status::Ok();
}

}  // namespace tandem::pd
