// Hyper-parameters of a Llama-family decoder (Llama 2/3, Mistral, Qwen2/2.5, Qwen3, SmolLM2), read
// from the checkpoint — GGUF metadata or a Hugging Face config.json — never hard-coded.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "kernels/backend.h"

namespace tandem::model {

class GgufFile;

enum class CheckpointFormat { kGguf, kHuggingFace };

struct ModelConfig {
  std::string arch;  // "llama", "qwen2", "qwen3" (mistral and smollm2 are "llama")
  CheckpointFormat format = CheckpointFormat::kGguf;
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-5f;
  bool qkv_bias = false;          // Qwen2
  bool qk_norm = false;           // Qwen3: per-head RMSNorm of q and k before rope
  bool tie_word_embeddings = false;
  kernels::RopeConfig rope;
  // Mixture of experts (num_experts == 0: every layer dense). A MoE layer's MLP is a router over
  // num_experts experts of moe_intermediate_size (top experts_per_token, softmax weights, optionally
  // renormalised over the chosen ones) plus, when shared_expert_intermediate_size > 0, a shared
  // expert gated by sigmoid(x · w). Layers in mlp_only_layers, or not on the decoder_sparse_step
  // grid, stay dense (intermediate_size).
  int num_experts = 0;
  int experts_per_token = 0;
  int moe_intermediate_size = 0;
  bool norm_topk_prob = true;
  int shared_expert_intermediate_size = 0;
  int decoder_sparse_step = 1;
  std::vector<int> mlp_only_layers;

  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
  bool is_moe_layer(int layer) const;
  Status validate() const;  // shapes consistent (heads divide, dims positive)
  std::string summary() const;
};

StatusOr<ModelConfig> config_from_gguf(const GgufFile& gguf);
// `dir` holds config.json.
StatusOr<ModelConfig> config_from_hf_dir(const std::string& dir);

}  // namespace tandem::model
