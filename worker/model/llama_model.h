// The Llama-family decoder forward pass, written once against kernels::Backend:
// embed → N × [RMSNorm → fused QKV (+bias) → (q/k norm) → RoPE → store KV → paged attention → O
// → add+RMSNorm → fused gate/up → SiLU·up → down] → final norm → LM head on the requested rows.
// Engine thread only (owns scratch buffers reused across steps).
#pragma once

#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "worker/model/forward_batch.h"
#include "worker/model/llama_weights.h"
#include "worker/model/model_config.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::model {

class LlamaModel {
 public:
  LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend);

  const ModelConfig& config() const { return config_; }

  // Runs the batch; writes logits [batch.logit_rows.size(), vocab] row-major into `logits`.
  // The new tokens' K/V are written into `kv` at batch.new_slots.
  void forward(const ForwardBatch& batch, runtime::KvCache& kv, float* logits);

 private:
  void linear(const float* x, int64_t m, const Linear& lin, float* y);
  void ensure_scratch(int64_t tokens);

  ModelConfig config_;
  std::unique_ptr<LlamaWeights> w_;
  kernels::Backend& be_;
  int64_t scratch_tokens_ = 0;
  std::vector<float> resid_, normed_, qkv_, q_, k_, v_, attn_, proj_, gate_up_, act_, part_, rows_;
};

}  // namespace tandem::model
