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
  if (head_dim % 2 != 0 || rope.rotary_dim > head_dim || rope.rotary_dim % 2 != 0) {
    return invalid_argument("model config: rotary dim {} must be even and at most head_dim {}",
                            rope.rotary_dim, head_dim);
  }
  return Status::Ok();
}

std::string ModelConfig::summary() const {
  return fmt::format(
      "{} ({}): layers={} hidden={} heads={}/{} head_dim={} ff={} vocab={} rope_theta={} {}{}{}{}",
      arch, format == CheckpointFormat::kGguf ? "gguf" : "hf", num_layers, hidden_size, num_heads,
      num_kv_heads, head_dim, intermediate_size, vocab_size, rope.theta,
      rope.scaling == kernels::RopeScaling::kLlama3 ? "llama3-scaling " : "", qkv_bias ? "qkv-bias " : "",
      qk_norm ? "qk-norm " : "", tie_word_embeddings ? "tied-embeddings" : "");
}

}  // namespace tandem::model
