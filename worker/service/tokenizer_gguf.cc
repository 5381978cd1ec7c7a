// tokenizer_only_gguf: copies a GGUF's header and metadata section byte for byte and drops the
// tensor infos and data. Walking the raw key/value encoding (rather than re-serialising parsed
// values) keeps every key exactly as the model file has it, types included.
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "common/mmap_file.h"
#include "worker/model/loader/gguf_file.h"
#include "worker/service/tokenizer_bundle.h"

namespace tandem::service {

namespace {

// GGUF value type ids (ggml's gguf.md).
enum : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

class Walker {
 public:
  Walker(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }

  template <typename T>
  bool read(T* out) {
    if (size_ - pos_ < sizeof(T)) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool skip(uint64_t n) {
    if (size_ - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  bool skip_string() {
    uint64_t len = 0;
    return read(&len) && skip(len);
  }
  bool skip_value(uint32_t type, int depth = 0) {
    switch (type) {
      case kU8: case kI8: case kBool: return skip(1);
      case kU16: case kI16: return skip(2);
      case kU32: case kI32: case kF32: return skip(4);
      case kU64: case kI64: case kF64: return skip(8);
      case kString: return skip_string();
      case kArray: {
        uint32_t elem = 0;
        uint64_t count = 0;
        if (depth > 4 || !read(&elem) || !read(&count)) return false;
        for (uint64_t i = 0; i < count; ++i) {
          if (!skip_value(elem, depth + 1)) return false;
        }
        return true;
      }
      default: return false;
    }
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<std::string> tokenizer_only_gguf(const std::string& gguf_path) {
  // Full validation first, so the walk below only meets well-formed input; also gives alignment.
  ASSIGN_OR_RETURN(std::unique_ptr<model::GgufFile> gguf, model::GgufFile::open(gguf_path));
  ASSIGN_OR_RETURN(MmapFile map, MmapFile::open(gguf_path));
  Walker w(map.data(), map.size());
  uint32_t magic = 0, version = 0;
  uint64_t tensor_count = 0, kv_count = 0;
  if (!w.read(&magic) || !w.read(&version) || !w.read(&tensor_count) || !w.read(&kv_count)) {
    return data_loss("gguf '{}': header truncated", gguf_path);
  }
  for (uint64_t i = 0; i < kv_count; ++i) {
    uint32_t type = 0;
    if (!w.skip_string() || !w.read(&type) || !w.skip_value(type)) {
      return data_loss("gguf '{}': metadata entry {} of {} is truncated or has an unknown type", gguf_path, i,
                       kv_count);
    }
  }
  const size_t kv_end = w.pos();
  const uint64_t align = gguf->alignment();
  const size_t padded = static_cast<size_t>((kv_end + align - 1) / align * align);

  std::string out(reinterpret_cast<const char*>(map.data()), kv_end);
  const uint64_t zero = 0;
  std::memcpy(out.data() + 8, &zero, sizeof(zero));  // tensor_count sits after magic and version
  out.resize(padded, '\0');
  return out;
}

}  // namespace tandem::service
