// Everything `tandem generate` needs to turn text into tokens and back for one model: the model on
// a backend (CPU or CUDA), its tokenizer, its chat template and its end-of-turn ids. Start-up only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/chat_template.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "kernels/backend.h"
#include "worker/model/model_loader.h"
#include "worker/runtime/kv_cache.h"
#include "worker/runtime/process_group.h"

namespace tandem::cli {

struct ModelSession {
  std::unique_ptr<kernels::Backend> backend;
  // Tensor parallel: this rank's group (NCCL lives on the backend's stream, so it goes after the
  // model and before the backend).
  std::unique_ptr<runtime::ProcessGroup> tp_group;
  model::LoadedModel loaded;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::optional<text::ChatTemplate> chat_template;
  std::vector<int32_t> eos_ids;  // ids that end a generation (eos + end-of-turn markers)
  std::unique_ptr<runtime::KvCache> kv;
};

// Makes the tensor-parallel group for the backend the session created (MPI for the CPU, NCCL for
// CUDA); the session keeps it.
using TpGroupFactory = std::function<StatusOr<std::unique_ptr<runtime::ProcessGroup>>(kernels::Backend&)>;

// kv_slots: the KV cache's capacity in tokens; 0 = auto: kCpuKvSlots on the host, on a device the
// slots that fit in mem_fraction of its memory next to what is already allocated (the weights),
// the smallest over tensor-parallel ranks.
// kv_dtype: "f32", "f16", "bf16" or "auto" (f32 on cpu, bf16 on cuda). device: "cpu", "cuda" or "cuda:N" (kernels::make_backend); on
// a GPU the weights are uploaded as bf16 and the KV cache lives in device memory. With a tp_group of
// size > 1: this rank's tensor-parallel shard, and a KV cache of its KV heads only.
StatusOr<std::unique_ptr<ModelSession>> open_model_session(const std::string& path, int threads,
                                                           int32_t kv_slots, const std::string& kv_dtype,
                                                           const std::string& device = "cpu",
                                                           const TpGroupFactory& tp_group = nullptr,
                                                           bool expert_parallel = false, double mem_fraction = 0.85);

inline constexpr int32_t kCpuKvSlots = 16384;

// Applies the chat template to a JSON messages array.
StatusOr<std::vector<int32_t>> encode_chat(const ModelSession& s, const std::string& messages_json);

}  // namespace tandem::cli
