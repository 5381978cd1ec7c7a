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
  s.num_experts = c.num_experts;
  s.moe_ff = c.moe_intermediate_size;
  s.shared_ff = c.shared_expert_intermediate_size;
  return s;
}

StatusOr<TpShard> plan_tp_shard(const ModelConfig& c, int rank, int size, bool expert_parallel) {
  if (size < 1 || rank < 0 || rank >= size) {
    return invalid_argument("tensor-parallel rank {} of {} is not a rank of the group", rank, size);
  }
  if (expert_parallel && c.num_experts == 0) {
    return invalid_argument("expert parallelism needs a mixture-of-experts model; this one ({}) is dense", c.arch);
  }
  if (expert_parallel && c.num_experts < size) {
    return invalid_argument("{} experts cannot be spread over {} ranks", c.num_experts, size);
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
  s.ep = expert_parallel;
  if (expert_parallel) {
    const runtime::Share e = runtime::share_of(c.num_experts, rank, size);
    s.expert_begin = static_cast<int>(e.begin);
    s.num_experts = static_cast<int>(e.count);
    s.moe_ff = c.moe_intermediate_size;
  } else {
    s.num_experts = c.num_experts;
    const runtime::Share m = runtime::share_of(c.moe_intermediate_size, rank, size);
    s.moe_ff_begin = m.begin;
    s.moe_ff = m.count;
  }
  const runtime::Share sh = runtime::share_of(c.shared_expert_intermediate_size, rank, size);
  s.shared_ff_begin = sh.begin;
  s.shared_ff = sh.count;
  if (s.ff == 0 || s.vocab == 0) {
    return invalid_argument("model too small for {} ranks (intermediate {}, vocab {})", size,
                            c.intermediate_size, c.vocab_size);
  }
  return s;
}

std::string TpShard::summary() const {
  std::string s = fmt::format("tp rank {}/{}: heads [{}, {}) kv heads [{}, {}) ff [{}, {}) vocab [{}, {})", rank,
                              size, head_begin, head_begin + num_heads, kv_head_begin, kv_head_begin + num_kv_heads,
                              ff_begin, ff_begin + ff, vocab_begin, vocab_begin + vocab);
  if (num_experts > 0) {
    s += ep ? fmt::format(" experts [{}, {}) whole (expert parallel)", expert_begin, expert_begin + num_experts)
            : fmt::format(" every expert's rows [{}, {})", moe_ff_begin, moe_ff_begin + moe_ff);
  }
  return s;
}

}  // namespace tandem::model
