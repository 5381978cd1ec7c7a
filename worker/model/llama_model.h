// The Llama-family decoder forward pass, written once against kernels::Backend:
// embed → N × [RMSNorm → fused QKV (+bias) → (q/k norm) → RoPE → store KV → paged attention → O
// → add+RMSNorm → fused gate/up → SiLU·up → down] → final norm → LM head on the requested rows.
// Weights go through the backend's upload_* once at construction (the CPU keeps the file's views;
// CUDA holds bf16 copies on the device); activations live in backend buffers reused across steps.
// Engine thread only (owns scratch buffers reused across steps).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "kernels/backend.h"
#include "worker/model/forward_batch.h"
#include "worker/model/llama_weights.h"
#include "worker/model/model_config.h"
#include "worker/model/tp_shard.h"
#include "worker/runtime/process_group.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::model {

class LlamaModel {
 public:
  LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend);
  // One rank of a tensor-parallel group: `weights` bound for `shard`; `group` (size == shard.size,
  // in `backend`'s memory) carries the all-reduces and the logits all-gather. Every rank must run
  // the same forward() calls in the same order. The group must outlive the model.
  LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend,
             const TpShard& shard, runtime::ProcessGroup* group);
  ~LlamaModel();

  const ModelConfig& config() const { return config_; }
  const TpShard& shard() const { return sh_; }
  // Width of this rank's KV rows (its KV heads × head_dim): what its KvCache must be made with.
  int local_kv_dim() const { return sh_.kv_dim(config_.head_dim); }

  // MoE models: tokens routed to each expert so far, [layer][expert] (zeros for dense layers).
  // Counted over every token of every step (not sampled); readable from any thread.
  std::vector<std::vector<int64_t>> expert_load() const;
  // One line per MoE layer: total routed, the busiest / idlest expert and max/mean imbalance.
  std::string expert_load_report() const;
  kernels::Backend& backend() const { return be_; }

  // Decode steps (one new token per sequence) on a backend that supports_capture() are recorded
  // once per (batch size, logit rows, KV cache, context bucket) and replayed (CUDA graphs): the
  // second step of a shape is captured, later ones replay. On by default; TANDEM_CUDA_GRAPHS=0 or
  // set_step_graphs(false) turns it off (tests compare both).
  void set_step_graphs(bool on);

  // Runs the batch; writes logits [batch.logit_rows.size(), vocab] row-major into `logits` (host
  // memory; on a device backend only those rows are copied back). The new tokens' K/V are written
  // into `kv` (which must live in this backend's memory) at batch.new_slots. Under tensor
  // parallelism every rank gets the whole [rows, vocab] logits. On a device backend `logits` may be
  // nullptr: the logits then stay in device memory, at device_logits(), until the next forward.
  void forward(const ForwardBatch& batch, runtime::KvCache& kv, float* logits);
  float* device_logits() const { return logits_.as<float>(); }

 private:
  // A linear layer as the backend holds it (one fused part on CUDA).
  struct BLinear {
    std::vector<TensorView> parts;
    const float* bias = nullptr;
    int64_t out_features = 0;
  };
  struct BLayer {
    const float* attn_norm = nullptr;
    const float* ffn_norm = nullptr;
    const float* q_norm = nullptr;
    const float* k_norm = nullptr;
    BLinear qkv, o, gate_up, down;
    struct Moe {
      BLinear router, shared_gate_up, shared_down, shared_gate;
      std::vector<std::pair<BLinear, BLinear>> experts;  // (gate_up, down) of this rank's experts
    };
    std::unique_ptr<Moe> moe;
  };

  // Everything from the embedding to the LM head (into `logits`, backend memory): the part of a
  // step that is captured.
  struct Indices;
  void compute(const Indices& ix, const kernels::AttentionBatch& ab, runtime::KvCache& kv, int64_t T, int64_t R,
               float* logits);
  BLinear upload_linear(const Linear& lin);
  // A MoE layer's MLP on x [T, hidden] into out [T, hidden] (moe_block.cc): route, run the experts
  // this rank holds (expert parallel: exchanging rows with the other ranks), add the shared expert.
  void moe_mlp(int layer, const BLayer::Moe& m, const float* x, int64_t T, float* out);
  // One MLP (gate_up → SiLU·mul → down) on n rows.
  void mlp_rows(const BLinear& gate_up, const BLinear& down, const float* x, int64_t n, float* y);
  // moe_mlp's pieces: upload this layer's row lists; run one local expert on rows [begin, end) of
  // the uploaded list and add weight × output into dst at the same rows; the expert-parallel
  // dispatch, compute and combine.
  void moe_upload_lists();
  void moe_run_expert(const BLayer::Moe& m, int local, const float* src, int64_t begin, int64_t end, float* dst);
  void moe_expert_parallel(const BLayer::Moe& m, const float* x, int64_t T, float* out);
  void linear(const float* x, int64_t m, const BLinear& lin, float* y);
  // Both return true when a buffer moved (captured steps then point at freed memory).
  bool ensure_scratch(int64_t tokens);
  // The batch's index arrays in backend memory (one copy per step on a device backend). slots go
  // last, so the others keep their offsets for a given (tokens, sequences, logit rows).
  struct Indices {
    const int32_t *tokens, *positions, *new_slots, *q_offsets, *ctx_lens, *slot_offsets, *logit_rows, *slots;
  };
  Indices stage_indices(const ForwardBatch& b, bool* moved);
  // The LM head's [R, vocab] logits from the ranks' vocabulary shares.
  void gather_logits(int64_t R, float* logits);
  bool grow(kernels::BackendBuffer& buf, size_t bytes);
  void drop_captures();

  ModelConfig config_;
  std::unique_ptr<LlamaWeights> w_;
  kernels::Backend& be_;
  TpShard sh_;
  runtime::ProcessGroup* pg_ = nullptr;  // null unless sh_.sharded()
  TensorView embedding_, lm_head_;
  const float* final_norm_ = nullptr;
  std::vector<BLayer> layers_;

  int64_t scratch_tokens_ = 0;
  kernels::BackendBuffer resid_, normed_, qkv_, q_, k_, v_, attn_, proj_, gate_up_, act_, part_, rows_, logits_;
  kernels::BackendBuffer shard_logits_, gathered_logits_;  // tensor parallel: [R, vocab_stride] and × size
  std::vector<int32_t> idx_host_, local_tokens_;
  kernels::BackendBuffer idx_dev_;

  // MoE scratch (host memory: routing runs on the host) and statistics.
  struct MoeScratch;
  std::shared_ptr<MoeScratch> moe_;  // shared_ptr: complete only in moe_block.cc
  std::unique_ptr<std::atomic<int64_t>[]> expert_counts_;  // [layer * num_experts + expert]

  // (tokens, logit rows, KV cache id, context bucket) → capture id.
  using StepKey = std::tuple<int64_t, int64_t, uint64_t, int>;
  bool graphs_on_ = true;
  std::set<StepKey> seen_;
  std::map<StepKey, int> captures_;
};

}  // namespace tandem::model
