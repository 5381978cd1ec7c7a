// A GGUF model file (v2 or v3), memory-mapped and parsed defensively: header, metadata key/values
// and tensor infos are validated against the file size at open, and tensor views point straight
// into the map (zero-copy). Layout reference: ggml's docs/gguf.md.
//
//   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count | kv_count x (string key,
//   u32 type, value) | tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type,
//   u64 offset) | padding to general.alignment (default 32) | tensor data
//
// Strings are u64 length + bytes; offsets are relative to the aligned data start. ne[0] is the
// contiguous dimension, so TensorView::shape is ne[] reversed (outermost first).
//
// Thread model: open() on any thread; the object is immutable afterwards, every method is
// thread-safe. Tensor data stays valid while the GgufFile lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mmap_file.h"
#include "common/status.h"
#include "worker/model/loader/gguf_metadata.h"
#include "worker/model/loader/gguf_types.h"
#include "worker/model/loader/weight_source.h"

namespace tandem::model {

class GgufFile final : public WeightSource {
 public:
  static constexpr uint64_t kDefaultAlignment = 32;
  // Sanity limits on the header counts (real models: a few thousand tensors, < 100 keys).
  static constexpr uint64_t kMaxTensors = 1'000'000;
  static constexpr uint64_t kMaxKeys = 1'000'000;

  // Errors: NOT_FOUND (no file), INVALID_ARGUMENT (not GGUF), UNIMPLEMENTED (GGUF v1, big-endian,
  // one part of a split GGUF, a tensor type Tandem cannot load — named), DATA_LOSS (truncated or
  // corrupt; the message names the part and the offset).
  static StatusOr<std::unique_ptr<GgufFile>> open(const std::string& path);
  // Parses an image the caller keeps alive and unchanged for the object's lifetime; `name`
  // stands in for the path in messages. Entry point for fuzzers and in-memory tests.
  static StatusOr<std::unique_ptr<GgufFile>> open_from_memory(const void* data, size_t size, std::string name);
  // Views and key indexes point into this object: neither copyable nor movable (hold it by pointer).
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  const std::string& path() const { return path_; }
  uint64_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // file offset of the aligned data section
  size_t file_size() const { return size_; }

  bool has(std::string_view key) const { return meta_.has(key); }
  std::vector<std::string> keys() const { return meta_.keys(); }
  std::optional<GgufType> type_of(std::string_view key) const { return meta_.type_of(key); }
  // Missing key: NOT_FOUND "gguf '<path>': metadata key '<key>' not found". Wrong type:
  // INVALID_ARGUMENT naming the key, the wanted and the actual type.
  StatusOr<int64_t> get_int(std::string_view key) const { return meta_.get_int(key); }  // any integer or bool
  StatusOr<double> get_float(std::string_view key) const { return meta_.get_float(key); }  // f32/f64 or integer
  StatusOr<bool> get_bool(std::string_view key) const { return meta_.get_bool(key); }
  StatusOr<std::string> get_string(std::string_view key) const { return meta_.get_string(key); }
  StatusOr<std::vector<std::string>> get_string_array(std::string_view key) const {
    return meta_.get_string_array(key);
  }
  StatusOr<std::vector<int64_t>> get_int_array(std::string_view key) const { return meta_.get_int_array(key); }
  StatusOr<std::vector<float>> get_float_array(std::string_view key) const { return meta_.get_float_array(key); }
  StatusOr<GgufValue> get_value(std::string_view key) const { return meta_.get_value(key); }

  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const TensorView* find_tensor(std::string_view name) const override;

 private:
  GgufFile() = default;
  Status parse();
  Status parse_tensor_infos(ByteReader& r, uint64_t count, std::vector<uint64_t>* offsets);
  Status place_tensors(const std::vector<uint64_t>& offsets);

  MmapFile map_;  // empty for open_from_memory
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  size_t data_offset_ = 0;
  GgufMetadata meta_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string_view, size_t> by_name_;  // keys view tensors_[i].name
};

}  // namespace tandem::model
