// The tensors of a Llama-family model bound by name from a checkpoint (GGUF or Hugging Face
// naming), shape-checked against the config. Linear layers that are run together are fused at
// load: q/k/v into one [q+2kv, hidden] matrix and gate/up into one [2ff, hidden] matrix (rows are
// independently encoded in every DType, so fusing is a row copy, no requantization). Norm weights
// and biases are converted to float32. Everything else stays a zero-copy view into the file.
// Immutable after binding; thread-safe to read.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "common/tensor_view.h"
#include "worker/model/loader/weight_source.h"
#include "worker/model/model_config.h"
#include "worker/model/tp_shard.h"

namespace tandem::model {

// A linear layer y = x W^T (+ b) whose output columns may come from several stored matrices
// (parts are concatenated along the output dimension, in order).
struct Linear {
  std::vector<TensorView> parts;
  std::vector<float> bias;  // empty, or out_features values
  int64_t in_features = 0;
  int64_t out_features = 0;
};

// A mixture-of-experts MLP (this rank's part: see TpShard).
struct MoeWeights {
  Linear router;  // [num_experts, hidden], every rank
  struct Expert {
    Linear gate_up;  // [gate | up]
    Linear down;
  };
  std::vector<Expert> experts;  // this rank's experts, from TpShard::expert_begin
  Expert shared;                // empty parts without a shared expert
  Linear shared_gate;           // [1, hidden]: sigmoid(x · w) scales the shared expert
};

struct LayerWeights {
  std::vector<float> attn_norm;
  Linear qkv;  // outputs [q | k | v]
  std::vector<float> q_norm, k_norm;  // [head_dim] each when config.qk_norm
  Linear o;
  std::vector<float> ffn_norm;
  Linear gate_up;  // outputs [gate | up] (dense layers)
  Linear down;
  std::unique_ptr<MoeWeights> moe;  // MoE layers (gate_up / down unused then)
};

struct LlamaWeights {
  TensorView embedding;  // [vocab, hidden]
  TensorView lm_head;    // [vocab, hidden] (the embedding when tied)
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  // Storage of fused matrices (64-byte aligned chunks).
  std::vector<std::unique_ptr<uint8_t[], void (*)(uint8_t*)>> owned;
};

StatusOr<std::unique_ptr<LlamaWeights>> bind_llama_weights(const ModelConfig& config,
                                                           const WeightSource& source);
// One tensor-parallel rank's part (tp_shard.h): row slices stay views into the file; column
// slices of o/down are copied, and must fall on the dtype's block boundaries.
StatusOr<std::unique_ptr<LlamaWeights>> bind_llama_weights(const ModelConfig& config, const WeightSource& source,
                                                           const TpShard& shard);

}  // namespace tandem::model
