#include "worker/model/tp_shard.h"

#include <fmt/format.h>

#include "worker/runtime/process_group.h"

namespace tandem::model {

TpShard whole_model(const ModelConfig& c) {
  TpShard s;
  s.num_heads = c.num_heads;
  s.num_kv_heads = c.num_kv_heads;
  s.ff = c.intermediate_size;
  s.vocab = s.vocab_stride = c.vocab_size;
  return s;
}

StatusOr<TpShard> plan_tp_shard(const ModelConfig& c, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size) {
    return invalid_argument("tensor-parallel rank {} of {} is not a rank of the group", rank, size);
  }
  if (size == 1) return whole_model(c);
  const int group = c.num_heads / c.num_kv_heads;  // query heads per KV head
  TpShard s;
  s.rank = rank;
  s.size = size;
  if (c.num_kv_heads >= size) {
    const runtime::Share kv = runtime::share_of(c.num_kv_heads, rank, size);
    s.kv_head_begin = static_cast<int>(kv.begin);
    s.num_kv_heads = static_cast<int>(kv.count);
    s.head_begin = s.kv_head_begin * group;
    s.num_heads = s.num_kv_heads * group;
  } else {
    // Fewer KV heads than ranks: each KV head is replicated on size / kv_heads ranks, which split
    // its query heads.
    if (size % c.num_kv_heads != 0 || c.num_heads % size != 0) {
      return invalid_argument("cannot split {} query / {} KV heads over {} ranks: with fewer KV heads than ranks "
                              "the ranks must be a multiple of the KV heads and divide the query heads; "
                              "use --tp {} or a divisor of it",
                              c.num_heads, c.num_kv_heads, size, c.num_kv_heads);
    }
    s.kv_head_begin = rank / (size / c.num_kv_heads);
    s.num_kv_heads = 1;
    s.num_heads = c.num_heads / size;
    s.head_begin = rank * s.num_heads;
  }
  const runtime::Share ff = runtime::share_of(c.intermediate_size, rank, size);
  s.ff_begin = ff.begin;
  s.ff = ff.count;
  const runtime::Share vocab = runtime::share_of(c.vocab_size, rank, size);
  s.vocab_begin = vocab.begin;
  s.vocab = vocab.count;
  s.vocab_stride = runtime::share_of(c.vocab_size, 0, size).count;
  if (s.ff == 0 || s.vocab == 0) {
    return invalid_argument("model too small for {} ranks (intermediate {}, vocab {})", size,
                            c.intermediate_size, c.vocab_size);
  }
  return s;
}

std::string TpShard::summary() const {
  return fmt::format("tp rank {}/{}: heads [{}, {}) kv heads [{}, {}) ff [{}, {}) vocab [{}, {})", rank, size,
                     head_begin, head_begin + num_heads, kv_head_begin, kv_head_begin + num_kv_heads, ff_begin,
                     ff_begin + ff, vocab_begin, vocab_begin + vocab);
}

}  // namespace tandem::model
