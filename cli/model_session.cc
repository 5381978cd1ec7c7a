#include "cli/model_session.h"

#include <algorithm>

namespace tandem::cli {

namespace {

// The model's EOS plus the end-of-turn markers instruction-tuned vocabularies use.
std::vector<int32_t> end_ids(const text::Tokenizer& tok) {
  std::vector<int32_t> ids;
  if (auto e = tok.eos_id()) ids.push_back(*e);
  for (const char* name : {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>",
                           "</s>", "<end_of_turn>"}) {
    if (auto id = tok.token_to_id(name); id && tok.is_special(*id)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

StatusOr<std::unique_ptr<ModelSession>> open_model_session(const std::string& path, int threads,
                                                           int32_t kv_slots, const std::string& kv_dtype,
                                                           const std::string& device,
                                                           const TpGroupFactory& tp_group, bool expert_parallel) {
  const bool on_cuda = device.rfind("cuda", 0) == 0;
  const std::string kv_name = kv_dtype == "auto" ? (on_cuda ? "bf16" : "f32") : kv_dtype;
  const std::optional<DType> kv_type = dtype_from_name(kv_name);
  if (!kv_type || (*kv_type != DType::kF32 && *kv_type != DType::kF16 && *kv_type != DType::kBF16)) {
    return invalid_argument("KV cache dtype '{}' is not one of f32, f16, bf16, auto", kv_dtype);
  }
  if (kv_slots <= 0) return invalid_argument("KV cache size must be positive, got {} slots", kv_slots);
  auto s = std::make_unique<ModelSession>();
  ASSIGN_OR_RETURN(s->backend, kernels::make_backend(device, threads));
  if (tp_group) {
    ASSIGN_OR_RETURN(s->tp_group, tp_group(*s->backend));
  }
  ASSIGN_OR_RETURN(s->loaded, model::load_model(path, *s->backend, s->tp_group.get(), expert_parallel));
  if (s->loaded.gguf) {
    ASSIGN_OR_RETURN(s->tokenizer, text::load_tokenizer_from_gguf(*s->loaded.gguf));
  } else {
    ASSIGN_OR_RETURN(s->tokenizer, text::load_tokenizer_from_hf_dir(s->loaded.hf_dir));
  }
  // The tokenizer carries the template: GGUF tokenizer.chat_template, or for a Hugging Face
  // directory chat_template.jinja / tokenizer_config.json's chat_template.
  if (const auto& src = s->tokenizer->chat_template()) {
    ASSIGN_OR_RETURN(text::ChatTemplate t, text::ChatTemplate::compile(*src));
    s->chat_template = std::move(t);
  }
  s->eos_ids = end_ids(*s->tokenizer);
  const model::ModelConfig& c = s->loaded.model->config();
  s->kv = std::make_unique<runtime::KvCache>(c.num_layers, kv_slots, s->loaded.model->local_kv_dim(), *kv_type,
                                                 s->backend.get());
  return s;
}

StatusOr<std::vector<int32_t>> encode_chat(const ModelSession& s, const std::string& messages_json) {
  if (!s.chat_template) {
    return failed_precondition_error("model '{}' has no chat template; use --prompt instead of --chat",
                                     s.loaded.path);
  }
  text::ChatTemplateInputs in;
  in.messages_json = messages_json;
  in.add_generation_prompt = true;
  in.bos_token = s.tokenizer->bos_token();
  in.eos_token = s.tokenizer->eos_token();
  ASSIGN_OR_RETURN(std::string prompt, s.chat_template->render(in));
  // The template writes BOS itself when the model wants one; do not add another.
  return s.tokenizer->encode(prompt, /*add_special_tokens=*/false);
}

}  // namespace tandem::cli
