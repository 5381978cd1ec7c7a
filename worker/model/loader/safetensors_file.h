// A Hugging Face safetensors checkpoint: one file, or an index plus its shards. Every shard is
// memory-mapped and its JSON header validated at open (see safetensors_parse.h); tensor views
// point straight into the maps (zero-copy). Only F32, F16 and BF16 tensors load.
//
// Note: safetensors does not align tensor data; a view's data may be only 2-byte aligned.
//
// Thread model: open() on any thread; the object is immutable afterwards, every method is
// thread-safe. Tensor data stays valid while the checkpoint lives.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mmap_file.h"
#include "common/status.h"
#include "worker/model/loader/weight_source.h"

namespace tandem::model {

class SafetensorsCheckpoint final : public WeightSource {
 public:
  // path: a directory holding model.safetensors.index.json (+ its shards; any single
  // *.safetensors.index.json also works), or model.safetensors, or else any *.safetensors files
  // (all loaded, in name order); or a path to one .safetensors file or to an index file.
  // Errors: NOT_FOUND (no such path, no safetensors files, a shard the index names is missing),
  // DATA_LOSS (truncated or corrupt file, a tensor the index lists is absent from its shard, a
  // tensor in two shards), UNIMPLEMENTED (a dtype other than F32/F16/BF16, naming the tensor).
  static StatusOr<std::unique_ptr<SafetensorsCheckpoint>> open(const std::string& path);
  // One shard image the caller keeps alive and unchanged for the object's lifetime; `name`
  // stands in for the path in messages. Entry point for fuzzers and in-memory tests.
  static StatusOr<std::unique_ptr<SafetensorsCheckpoint>> open_from_memory(const void* data, size_t size,
                                                                           std::string name);
  // Views and the name index point into this object: neither copyable nor movable.
  SafetensorsCheckpoint(const SafetensorsCheckpoint&) = delete;
  SafetensorsCheckpoint& operator=(const SafetensorsCheckpoint&) = delete;

  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const TensorView* find_tensor(std::string_view name) const override;
  const std::string& path() const { return path_; }
  const std::vector<std::string>& shard_paths() const { return shard_paths_; }

 private:
  SafetensorsCheckpoint() = default;
  Status open_directory(const std::string& dir);
  Status open_index(const std::string& index_path);
  Status add_shard(const std::string& file);
  Status add_image(const uint8_t* data, size_t size, const std::string& file);
  Status build_index();  // fills by_name_; rejects a name present in two shards

  std::string path_;
  std::vector<std::string> shard_paths_;
  std::vector<MmapFile> maps_;
  std::vector<TensorView> tensors_;
  std::vector<size_t> shard_of_;  // tensors_[i] came from shard_paths_[shard_of_[i]]
  std::unordered_map<std::string_view, size_t> by_name_;  // keys view tensors_[i].name
};

}  // namespace tandem::model
