// Opens a checkpoint — a .gguf file, or a Hugging Face directory (config.json + safetensors) —
// and builds the model on a backend. The returned object owns the file mappings the weights point
// into. Called once at start-up (any thread); the model then belongs to the engine thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "kernels/backend.h"
#include "worker/model/llama_model.h"
#include "worker/model/loader/weight_source.h"

namespace tandem::model {

class GgufFile;

struct LoadedModel {
  std::string path;
  std::unique_ptr<WeightSource> source;  // GgufFile or SafetensorsCheckpoint
  const GgufFile* gguf = nullptr;        // == source when the checkpoint is GGUF (tokenizer, template)
  std::unique_ptr<LlamaModel> model;
  std::string hf_dir;                    // the directory when the checkpoint is Hugging Face
};

// With a group of size > 1 the model is this rank's tensor-parallel shard (tp_shard.h); every rank
// of the group loads the same path.
// expert_parallel: MoE experts partitioned over the group's ranks (TpShard::ep).
StatusOr<LoadedModel> load_model(const std::string& path, kernels::Backend& backend,
                                 runtime::ProcessGroup* group = nullptr, bool expert_parallel = false);

}  // namespace tandem::model
