// Which part of a Llama-family model one tensor-parallel rank holds. Attention is split by KV-head
// group (a rank's query heads are exactly the ones reading its KV heads; shares may be uneven, e.g.
// the default model's 3 KV heads over 2 ranks = 2 + 1), replicating KV heads when there are fewer
// than ranks; the MLP by intermediate rows; embedding and LM head by vocabulary rows. Column-parallel
// layers (q/k/v, gate/up, LM head) keep their outputs local; row-parallel ones (o, down) and the
// embedding produce partial sums the ranks all-reduce.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "worker/model/model_config.h"

namespace tandem::model {

struct TpShard {
  int rank = 0;
  int size = 1;
  int head_begin = 0, num_heads = 0;        // this rank's query heads
  int kv_head_begin = 0, num_kv_heads = 0;  // its KV heads (the cache holds only these)
  int64_t ff_begin = 0, ff = 0;             // its intermediate rows
  int64_t vocab_begin = 0, vocab = 0;       // its embedding / LM-head rows
  int64_t vocab_stride = 0;                 // the largest vocab share (all-gather block width)
  // MoE layers. Experts tensor parallel (ep false): every expert, rows [moe_ff_begin, +moe_ff) of
  // each. Expert parallel (ep true): experts [expert_begin, +num_experts) whole; tokens go to the
  // ranks owning their experts and back (all-to-all). The shared expert is split like a dense MLP.
  bool ep = false;
  int expert_begin = 0, num_experts = 0;
  int64_t moe_ff_begin = 0, moe_ff = 0;
  int64_t shared_ff_begin = 0, shared_ff = 0;

  bool sharded() const { return size > 1; }
  int q_dim(int head_dim) const { return num_heads * head_dim; }
  int kv_dim(int head_dim) const { return num_kv_heads * head_dim; }
  std::string summary() const;
};

// The whole model (size 1).
TpShard whole_model(const ModelConfig& c);
// Rank `rank` of `size`; InvalidArgument when the model cannot be split that way (says why).
// expert_parallel: MoE experts partitioned over the ranks instead of each split.
StatusOr<TpShard> plan_tp_shard(const ModelConfig& c, int rank, int size, bool expert_parallel = false);

}  // namespace tandem::model
