#include "cli/model_session.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

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

// --kv-slots 0: on a device, the slots whose K and V rows fit in mem_fraction of the memory, less
// what is allocated already (weights, the runtime's own); every tensor-parallel rank takes the
// smallest answer so slot indices mean the same everywhere.
StatusOr<int32_t> auto_kv_slots(kernels::Backend& be, int num_layers, int local_kv_dim, DType type,
                                double mem_fraction, runtime::ProcessGroup* tp) {
  size_t free_bytes = 0, total_bytes = 0;
  if (!be.memory_info(&free_bytes, &total_bytes)) return kCpuKvSlots;
  const double used = static_cast<double>(total_bytes - free_bytes);
  const double budget = mem_fraction * static_cast<double>(total_bytes) - used;
  const double per_slot = 2.0 * num_layers * static_cast<double>(row_bytes(type, local_kv_dim));
  int64_t slots = static_cast<int64_t>(std::max(0.0, budget / per_slot));
  slots = std::min<int64_t>(slots, std::numeric_limits<int32_t>::max() / 2);
  if (tp != nullptr && tp->size() > 1) {
    std::vector<int64_t> mine(tp->size(), slots), all(tp->size());
    tp->exchange_counts(mine, all);
    slots = *std::min_element(all.begin(), all.end());
  }
  constexpr int64_t kMinSlots = 1024;
  if (slots < kMinSlots) {
    return make_status(StatusCode::kResourceExhausted,
                       "the KV cache would get {} slots: {:.1f} of {:.1f} GiB are in use after loading the model and "
                       "--mem-fraction {} allows {:.1f} GiB; raise --mem-fraction, or set --kv-slots",
                       slots, used / (1 << 30), total_bytes / double(1 << 30), mem_fraction,
                       mem_fraction * total_bytes / (1 << 30));
  }
  spdlog::info("KV cache: {} slots ({:.1f} GiB, {} per token) from --mem-fraction {} of {:.1f} GiB", slots,
               slots * per_slot / (1 << 30), static_cast<int64_t>(per_slot), mem_fraction,
               total_bytes / double(1 << 30));
  return static_cast<int32_t>(slots);
}

}  // namespace

StatusOr<std::unique_ptr<ModelSession>> open_model_session(const std::string& path, int threads,
                                                           int32_t kv_slots, const std::string& kv_dtype,
                                                           const std::string& device,
                                                           const TpGroupFactory& tp_group, bool expert_parallel,
                                                           double mem_fraction) {
  const bool on_cuda = device.rfind("cuda", 0) == 0;
  const std::string kv_name = kv_dtype == "auto" ? (on_cuda ? "bf16" : "f32") : kv_dtype;
  const std::optional<DType> kv_type = dtype_from_name(kv_name);
  if (!kv_type || (*kv_type != DType::kF32 && *kv_type != DType::kF16 && *kv_type != DType::kBF16)) {
    return invalid_argument("KV cache dtype '{}' is not one of f32, f16, bf16, auto", kv_dtype);
  }
  if (kv_slots < 0) return invalid_argument("KV cache size must be positive (or 0 = auto), got {} slots", kv_slots);
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
  if (kv_slots == 0) {
    ASSIGN_OR_RETURN(kv_slots, auto_kv_slots(*s->backend, c.num_layers, s->loaded.model->local_kv_dim(), *kv_type,
                                             mem_fraction, s->tp_group.get()));
  }
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
