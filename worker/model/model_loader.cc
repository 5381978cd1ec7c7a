#include "worker/model/model_loader.h"

#include <filesystem>

#include "worker/model/loader/gguf_file.h"
#include "worker/model/loader/safetensors_file.h"

namespace tandem::model {

StatusOr<LoadedModel> load_model(const std::string& path, kernels::Backend& backend, runtime::ProcessGroup* group,
                                 bool expert_parallel) {
  namespace fs = std::filesystem;
  std::error_code ec;
  LoadedModel out;
  out.path = path;
  ModelConfig config;
  if (fs::is_directory(path, ec)) {
    ASSIGN_OR_RETURN(config, config_from_hf_dir(path));
    ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsCheckpoint> st, SafetensorsCheckpoint::open(path));
    out.source = std::move(st);
    out.hf_dir = path;
  } else if (fs::is_regular_file(path, ec)) {
    ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> g, GgufFile::open(path));
    ASSIGN_OR_RETURN(config, config_from_gguf(*g));
    out.gguf = g.get();
    out.source = std::move(g);
  } else {
    return not_found("model path '{}' does not exist (expected a .gguf file or a Hugging Face "
                     "directory with config.json and *.safetensors)", path);
  }
  TpShard shard = whole_model(config);
  if (group && group->size() > 1) {
    ASSIGN_OR_RETURN(shard, plan_tp_shard(config, group->rank(), group->size(), expert_parallel));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LlamaWeights> weights, bind_llama_weights(config, *out.source, shard));
  out.model = std::make_unique<LlamaModel>(std::move(config), std::move(weights), backend, shard, group);
  return out;
}

}  // namespace tandem::model
