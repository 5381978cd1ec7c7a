// ModelConfig from GGUF metadata ("<arch>.block_count", ...).
#include <fmt/format.h>

#include "worker/model/loader/gguf_file.h"
#include "worker/model/model_config.h"

namespace tandem::model {

namespace {

StatusOr<int> get_int_key(const GgufFile& g, const std::string& key) {
  ASSIGN_OR_RETURN(int64_t v, g.get_int(key));
  if (v < 0 || v > (1LL << 30)) return invalid_argument("gguf: metadata '{}' = {} is out of range", key, v);
  return static_cast<int>(v);
}

}  // namespace

StatusOr<ModelConfig> config_from_gguf(const GgufFile& g) {
  ModelConfig c;
  c.format = CheckpointFormat::kGguf;
  ASSIGN_OR_RETURN(c.arch, g.get_string("general.architecture"));
  if (c.arch != "llama" && c.arch != "qwen2" && c.arch != "qwen3") {
    return unimplemented("gguf '{}': architecture '{}' is not supported (supported: llama, qwen2, qwen3)",
                         g.path(), c.arch);
  }
  const std::string a = c.arch + ".";
  ASSIGN_OR_RETURN(c.num_layers, get_int_key(g, a + "block_count"));
  ASSIGN_OR_RETURN(c.hidden_size, get_int_key(g, a + "embedding_length"));
  ASSIGN_OR_RETURN(c.intermediate_size, get_int_key(g, a + "feed_forward_length"));
  ASSIGN_OR_RETURN(c.num_heads, get_int_key(g, a + "attention.head_count"));
  c.num_kv_heads = c.num_heads;
  if (g.has(a + "attention.head_count_kv")) {
    ASSIGN_OR_RETURN(c.num_kv_heads, get_int_key(g, a + "attention.head_count_kv"));
  }
  if (c.num_heads <= 0) return invalid_argument("gguf '{}': head_count is 0", g.path());
  c.head_dim = c.hidden_size / c.num_heads;
  if (g.has(a + "attention.key_length")) {
    ASSIGN_OR_RETURN(c.head_dim, get_int_key(g, a + "attention.key_length"));
  }
  c.max_position_embeddings = 4096;
  if (g.has(a + "context_length")) {
    ASSIGN_OR_RETURN(c.max_position_embeddings, get_int_key(g, a + "context_length"));
  }
  ASSIGN_OR_RETURN(double eps, g.get_float(a + "attention.layer_norm_rms_epsilon"));
  c.rms_norm_eps = static_cast<float>(eps);

  if (g.has(a + "vocab_size")) {
    ASSIGN_OR_RETURN(c.vocab_size, get_int_key(g, a + "vocab_size"));
  } else if (const TensorView* emb = g.find_tensor("token_embd.weight")) {
    c.vocab_size = static_cast<int>(emb->rows());
  }

  c.rope.head_dim = c.head_dim;
  c.rope.rotary_dim = c.head_dim;
  if (g.has(a + "rope.dimension_count")) {
    ASSIGN_OR_RETURN(c.rope.rotary_dim, get_int_key(g, a + "rope.dimension_count"));
  }
  c.rope.theta = 10000.0f;
  if (g.has(a + "rope.freq_base")) {
    ASSIGN_OR_RETURN(double theta, g.get_float(a + "rope.freq_base"));
    c.rope.theta = static_cast<float>(theta);
  }
  // llama.cpp's converter permutes Llama q/k weights so that rope rotates adjacent pairs; Qwen
  // checkpoints keep the Hugging Face (rotate-half) layout.
  c.rope.neox = c.arch != "llama";
  if (g.has(a + "rope.scaling.type")) {
    ASSIGN_OR_RETURN(std::string type, g.get_string(a + "rope.scaling.type"));
    if (type == "linear") {
      c.rope.scaling = kernels::RopeScaling::kLinear;
      ASSIGN_OR_RETURN(double f, g.get_float(a + "rope.scaling.factor"));
      c.rope.factor = static_cast<float>(f);
    } else if (type != "none") {
      return unimplemented("gguf '{}': rope scaling '{}' is not supported yet", g.path(), type);
    }
  }
  if (g.find_tensor("rope_freqs.weight") != nullptr) {
    return unimplemented("gguf '{}': per-frequency rope factors (rope_freqs.weight, Llama 3.1 GGUF) are "
                         "not supported yet; use the Hugging Face checkpoint", g.path());
  }
  c.qkv_bias = g.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = g.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  c.tie_word_embeddings = g.find_tensor("output.weight") == nullptr;
  RETURN_IF_ERROR(c.validate().with_context(fmt::format("gguf '{}'", g.path())));
  return c;
}

}  // namespace tandem::model
