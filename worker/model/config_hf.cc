// ModelConfig from a Hugging Face config.json (transformers 4.x and 5.x spellings).
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "worker/model/model_config.h"

namespace tandem::model {

namespace json = boost::json;

namespace {

struct Reader {
  const json::object& obj;
  const std::string& path;

  const json::value* find(std::string_view key) const {
    auto it = obj.find(key);
    return it == obj.end() || it->value().is_null() ? nullptr : &it->value();
  }
  StatusOr<int> get_int(std::string_view key, std::optional<int> dflt = std::nullopt) const {
    const json::value* v = find(key);
    if (!v) {
      if (dflt) return *dflt;
      return invalid_argument("{}: required key '{}' is missing", path, key);
    }
    if (!v->is_int64() && !v->is_uint64()) return invalid_argument("{}: '{}' must be an integer", path, key);
    return static_cast<int>(v->to_number<int64_t>());
  }
  StatusOr<double> get_num(const json::object& o, std::string_view key, double dflt) const {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return dflt;
    if (!it->value().is_number()) return invalid_argument("{}: '{}' must be a number", path, key);
    return it->value().to_number<double>();
  }
  bool get_bool(std::string_view key, bool dflt) const {
    const json::value* v = find(key);
    return v && v->is_bool() ? v->as_bool() : dflt;
  }
};

}  // namespace

StatusOr<ModelConfig> config_from_hf_dir(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) return not_found("cannot read '{}': a Hugging Face checkpoint directory needs config.json", path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(ss.str(), ec);
  if (ec || !root.is_object()) return invalid_argument("{}: not a JSON object ({})", path, ec.message());
  const json::object& o = root.as_object();
  Reader r{o, path};

  ModelConfig c;
  c.format = CheckpointFormat::kHuggingFace;
  std::string model_type;
  if (const json::value* v = r.find("model_type"); v && v->is_string()) model_type = v->as_string().c_str();
  if (model_type == "llama" || model_type == "mistral") {
    c.arch = "llama";
  } else if (model_type == "qwen2" || model_type == "qwen3" || model_type == "qwen2_moe" || model_type == "qwen3_moe" ||
             model_type == "mixtral") {
    c.arch = model_type;
  } else {
    return unimplemented("{}: model_type '{}' is not supported (supported: llama, mistral, qwen2, qwen3, "
                         "qwen2_moe, qwen3_moe, mixtral)", path, model_type);
  }
  ASSIGN_OR_RETURN(c.vocab_size, r.get_int("vocab_size"));
  ASSIGN_OR_RETURN(c.hidden_size, r.get_int("hidden_size"));
  ASSIGN_OR_RETURN(c.num_layers, r.get_int("num_hidden_layers"));
  ASSIGN_OR_RETURN(c.num_heads, r.get_int("num_attention_heads"));
  ASSIGN_OR_RETURN(c.num_kv_heads, r.get_int("num_key_value_heads", c.num_heads));
  ASSIGN_OR_RETURN(c.intermediate_size, r.get_int("intermediate_size"));
  if (c.arch == "mixtral") {
    // Every layer is MoE; intermediate_size is the experts' size; top-k weights always renormalised.
    ASSIGN_OR_RETURN(c.num_experts, r.get_int("num_local_experts"));
    ASSIGN_OR_RETURN(c.experts_per_token, r.get_int("num_experts_per_tok", 2));
    c.moe_intermediate_size = c.intermediate_size;
    c.norm_topk_prob = true;
  } else if (c.arch == "qwen2_moe" || c.arch == "qwen3_moe") {
    ASSIGN_OR_RETURN(c.num_experts, r.get_int("num_experts"));
    ASSIGN_OR_RETURN(c.experts_per_token, r.get_int("num_experts_per_tok"));
    ASSIGN_OR_RETURN(c.moe_intermediate_size, r.get_int("moe_intermediate_size"));
    ASSIGN_OR_RETURN(c.decoder_sparse_step, r.get_int("decoder_sparse_step", 1));
    ASSIGN_OR_RETURN(c.shared_expert_intermediate_size, r.get_int("shared_expert_intermediate_size", 0));
    c.norm_topk_prob = r.get_bool("norm_topk_prob", c.arch == "qwen3_moe");
    if (const json::value* v = r.find("mlp_only_layers"); v && v->is_array()) {
      for (const json::value& l : v->as_array()) {
        if (!l.is_int64()) return invalid_argument("{}: mlp_only_layers must list layer numbers", path);
        c.mlp_only_layers.push_back(static_cast<int>(l.as_int64()));
      }
    }
  }
  ASSIGN_OR_RETURN(c.max_position_embeddings, r.get_int("max_position_embeddings", 4096));
  if (c.num_heads <= 0) return invalid_argument("{}: num_attention_heads must be positive", path);
  ASSIGN_OR_RETURN(c.head_dim, r.get_int("head_dim", c.hidden_size / c.num_heads));
  ASSIGN_OR_RETURN(double eps, r.get_num(o, "rms_norm_eps", 1e-6));
  c.rms_norm_eps = static_cast<float>(eps);
  c.tie_word_embeddings = r.get_bool("tie_word_embeddings", false);
  c.qkv_bias = c.arch == "qwen2" || c.arch == "qwen2_moe" || r.get_bool("attention_bias", false);
  c.qk_norm = c.arch == "qwen3" || c.arch == "qwen3_moe";
  if (c.qk_norm && r.get_bool("attention_bias", false)) {
    return unimplemented("{}: qwen3 with attention_bias is not supported", path);
  }
  if (r.get_bool("use_sliding_window", false)) {
    return unimplemented("{}: sliding-window attention is not supported yet", path);
  }

  c.rope.head_dim = c.head_dim;
  c.rope.rotary_dim = c.head_dim;
  c.rope.neox = true;
  // transformers 5 nests rope settings in rope_parameters; 4.x uses rope_theta + rope_scaling.
  const json::object* scaling = nullptr;
  double theta = 10000.0;
  if (const json::value* rp = r.find("rope_parameters"); rp && rp->is_object()) {
    scaling = &rp->as_object();
    ASSIGN_OR_RETURN(theta, r.get_num(*scaling, "rope_theta", theta));
  }
  ASSIGN_OR_RETURN(theta, r.get_num(o, "rope_theta", theta));
  if (const json::value* rs = r.find("rope_scaling"); rs && rs->is_object()) scaling = &rs->as_object();
  c.rope.theta = static_cast<float>(theta);
  if (scaling) {
    std::string type;
    for (const char* key : {"rope_type", "type"}) {
      auto it = scaling->find(key);
      if (it != scaling->end() && it->value().is_string()) type = it->value().as_string().c_str();
    }
    if (type == "llama3") {
      c.rope.scaling = kernels::RopeScaling::kLlama3;
      ASSIGN_OR_RETURN(double f, r.get_num(*scaling, "factor", 8.0));
      ASSIGN_OR_RETURN(double lo, r.get_num(*scaling, "low_freq_factor", 1.0));
      ASSIGN_OR_RETURN(double hi, r.get_num(*scaling, "high_freq_factor", 4.0));
      ASSIGN_OR_RETURN(double orig, r.get_num(*scaling, "original_max_position_embeddings", 8192));
      c.rope.factor = static_cast<float>(f);
      c.rope.low_freq_factor = static_cast<float>(lo);
      c.rope.high_freq_factor = static_cast<float>(hi);
      c.rope.original_max_positions = static_cast<int>(orig);
    } else if (type == "linear") {
      c.rope.scaling = kernels::RopeScaling::kLinear;
      ASSIGN_OR_RETURN(double f, r.get_num(*scaling, "factor", 1.0));
      c.rope.factor = static_cast<float>(f);
    } else if (!type.empty() && type != "default") {
      return unimplemented("{}: rope scaling type '{}' is not supported yet (supported: llama3, linear)",
                           path, type);
    }
  }
  RETURN_IF_ERROR(c.validate().with_context(path));
  return c;
}

}  // namespace tandem::model
