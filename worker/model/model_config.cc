#include "worker/model/model_config.h"

#include <fmt/format.h>

namespace tandem::model {

Status ModelConfig::validate() const {
  auto positive = [](int v, const char* what) -> Status {
    if (v <= 0) return invalid_argument("model config: {} must be positive, got {}", what, v);
    return Status::Ok();
  };
  RETURN_IF_ERROR(positive(vocab_size, "vocab_size"));
  RETURN_IF_ERROR(positive(hidden_size, "hidden_size"));
  RETURN_IF_ERROR(positive(num_layers, "num_layers"));
  RETURN_IF_ERROR(positive(num_heads, "num_heads"));
  RETURN_IF_ERROR(positive(num_kv_heads, "num_kv_heads"));
  RETURN_IF_ERROR(positive(head_dim, "head_dim"));
  RETURN_IF_ERROR(positive(intermediate_size, "intermediate_size"));
  if (num_heads % num_kv_heads != 0) {
    return invalid_argument("model config: num_heads {} is not a multiple of num_kv_heads {}", num_heads,
                            num_kv_heads);
  }
  if (num_experts > 0) {
    if (experts_per_token < 1 || experts_per_token > num_experts || moe_intermediate_size <= 0 ||
        decoder_sparse_step < 1) {
      return invalid_argument("model config: MoE with {} experts, top-{}, expert size {}, sparse step {} is not valid",
                              num_experts, experts_per_token, moe_intermediate_size, decoder_sparse_step);
    }
  }
  if (head_dim % 2 != 0 || rope.rotary_dim > head_dim || rope.rotary_dim % 2 != 0) {
    return invalid_argument("model config: rotary dim {} must be even and at most head_dim {}",
                            rope.rotary_dim, head_dim);
  }
  return Status::Ok();
}

bool ModelConfig::is_moe_layer(int layer) const {
  if (num_experts == 0) return false;
  for (int l : mlp_only_layers) {
    if (l == layer) return false;
  }
  return (layer + 1) % decoder_sparse_step == 0;
}

std::string ModelConfig::summary() const {
  return fmt::format(
      "{} ({}): layers={} hidden={} heads={}/{} head_dim={} ff={} vocab={} rope_theta={} {}{}{}{}",
      arch, format == CheckpointFormat::kGguf ? "gguf" : "hf", num_layers, hidden_size, num_heads,
      num_kv_heads, head_dim, intermediate_size, vocab_size, rope.theta,
      rope.scaling == kernels::RopeScaling::kLlama3 ? "llama3-scaling " : "", qkv_bias ? "qkv-bias " : "",
      qk_norm ? "qk-norm " : "", tie_word_embeddings ? "tied-embeddings" : "") +
         (num_experts ? fmt::format(" moe: {} experts top-{} size {}{}{}", num_experts, experts_per_token,
                                    moe_intermediate_size, norm_topk_prob ? " renormalised" : "",
                                    shared_expert_intermediate_size
                                        ? fmt::format(" shared {}", shared_expert_intermediate_size)
                                        : std::string())
                      : std::string());
}

}  // namespace tandem::model
