#include "worker/model/loader/gguf_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "common/dtype.h"

namespace tandem::model {

namespace {

constexpr size_t kMaxDims = 4;  // GGML_MAX_DIMS

// ggml_type ids -> names, for naming types Tandem does not load. Gaps are ids ggml retired.
std::string_view ggml_type_name(uint32_t id) {
  static constexpr std::string_view kNames[] = {
      "F32",     "F16",     "Q4_0",  "Q4_1",   "(retired Q4_2)", "(retired Q4_3)", "Q5_0",    "Q5_1",
      "Q8_0",    "Q8_1",    "Q2_K",  "Q3_K",   "Q4_K",           "Q5_K",           "Q6_K",    "Q8_K",
      "IQ2_XXS", "IQ2_XS",  "IQ3_XXS", "IQ1_S", "IQ4_NL",        "IQ3_S",          "IQ2_S",   "IQ4_XS",
      "I8",      "I16",     "I32",   "I64",    "F64",            "IQ1_M",          "BF16",    "(retired Q4_0_4_4)",
      "(retired Q4_0_4_8)", "(retired Q4_0_8_8)", "TQ1_0", "TQ2_0", "(retired IQ4_NL_4_4)",
      "(retired IQ4_NL_4_8)", "(retired IQ4_NL_8_8)", "MXFP4"};
  if (id < std::size(kNames)) return kNames[id];
  return "unknown to this build";
}

uint64_t align_up(uint64_t v, uint64_t alignment) { return (v + alignment - 1) / alignment * alignment; }

}  // namespace

StatusOr<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  ASSIGN_OR_RETURN(MmapFile map, MmapFile::open(path));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->map_ = std::move(map);
  f->data_ = f->map_.data();
  f->size_ = f->map_.size();
  f->path_ = path;
  RETURN_IF_ERROR(f->parse());
  return f;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::open_from_memory(const void* data, size_t size, std::string name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->data_ = static_cast<const uint8_t*>(data);
  f->size_ = size;
  f->path_ = std::move(name);
  RETURN_IF_ERROR(f->parse());
  return f;
}

const TensorView* GgufFile::find_tensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status GgufFile::parse() {
  const std::string label = fmt::format("gguf '{}'", path_);
  if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0) {
    if (size_ < 4) return invalid_argument("{}: not a GGUF file: it is only {} bytes long", label, size_);
    return invalid_argument("{}: not a GGUF file: it starts with bytes {:02x} {:02x} {:02x} {:02x}, not 'GGUF'",
                            label, data_[0], data_[1], data_[2], data_[3]);
  }
  ByteReader r(data_, size_);
  RETURN_IF_ERROR(r.skip(4, "the magic"));
  Status st = r.read(&version_, "the version");
  if (!st.ok()) return st.with_context(label);
  if (version_ == 1) {
    return unimplemented("{}: GGUF version 1 (2023 and earlier) is not supported; re-convert the model with a "
                         "current llama.cpp convert script (versions 2 and 3 load)",
                         label);
  }
  if (const uint32_t swapped = __builtin_bswap32(version_); swapped == 2 || swapped == 3) {
    return unimplemented("{}: big-endian GGUF (version {}) is not supported; use the little-endian file",
                         label, swapped);
  }
  if (version_ != 2 && version_ != 3) {
    return unimplemented("{}: GGUF version {} is not supported (versions 2 and 3 load)", label, version_);
  }

  uint64_t tensor_count = 0;
  uint64_t kv_count = 0;
  st = r.read(&tensor_count, "the tensor count");
  if (st.ok()) st = r.read(&kv_count, "the metadata key count");
  if (!st.ok()) return st.with_context(label);
  if (tensor_count > kMaxTensors || kv_count > kMaxKeys) {
    return data_loss("{}: header claims {} tensors and {} metadata keys (limits {} and {}); the file is corrupt",
                     label, grouped(tensor_count), grouped(kv_count), grouped(kMaxTensors), grouped(kMaxKeys));
  }

  st = meta_.parse(r, kv_count, label);
  if (!st.ok()) return st.with_context(label);

  if (std::optional<GgufType> t = meta_.type_of("general.alignment")) {
    if (*t != GgufType::kU32) {
      return data_loss("{}: general.alignment is {}, must be u32", label, gguf_type_name(*t));
    }
    alignment_ = static_cast<uint64_t>(*meta_.get_int("general.alignment"));
    if (alignment_ == 0 || !std::has_single_bit(alignment_)) {
      return data_loss("{}: general.alignment is {}, must be a power of two", label, alignment_);
    }
  }

  // llama.cpp's gguf-split writes split.count files of which only the first holds the metadata;
  // opening one of them alone would leave tensors missing with no hint why.
  if (meta_.type_of("split.count") && gguf_is_integer(*meta_.type_of("split.count"))) {
    if (StatusOr<int64_t> n = meta_.get_int("split.count"); n.ok() && *n > 1) {
      return unimplemented("{}: this is one part of a {}-file split GGUF, which Tandem does not load; merge the "
                           "parts with `llama-gguf-split --merge <first part> <output>`",
                           label, *n);
    }
  }

  std::vector<uint64_t> offsets;
  st = parse_tensor_infos(r, tensor_count, &offsets);
  if (!st.ok()) return st.with_context(label);
  // A file without tensors may end right after the infos, without the padding.
  data_offset_ = static_cast<size_t>(align_up(r.pos(), alignment_));
  if (tensor_count == 0) data_offset_ = std::min(data_offset_, size_);
  st = place_tensors(offsets);
  if (!st.ok()) return st.with_context(label);

  by_name_.reserve(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) by_name_.emplace(tensors_[i].name, i);
  return Status::Ok();
}

Status GgufFile::parse_tensor_infos(ByteReader& r, uint64_t count, std::vector<uint64_t>* offsets) {
  std::unordered_map<std::string_view, uint64_t> seen;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string ctx = fmt::format("tensor info #{}", i);
    uint64_t name_len = 0;
    const uint8_t* name = nullptr;
    Status st = r.read(&name_len, "the name length");
    if (st.ok()) st = r.take(name_len, &name, "the name");
    if (!st.ok()) return st.with_context(ctx);
    TensorView t;
    t.name.assign(reinterpret_cast<const char*>(name), name_len);
    if (t.name.empty()) return data_loss("{}: empty tensor name; the file is corrupt", ctx);
    if (auto [it, fresh] = seen.emplace(std::string_view(reinterpret_cast<const char*>(name), name_len), i);
        !fresh) {
      return data_loss("tensor '{}' appears twice (infos #{} and #{}); the file is corrupt", t.name, it->second, i);
    }

    uint32_t n_dims = 0;
    st = r.read(&n_dims, "the dimension count");
    if (!st.ok()) return st.with_context(fmt::format("tensor '{}'", t.name));
    if (n_dims > kMaxDims) {
      return data_loss("tensor '{}' has {} dimensions, GGUF allows at most {}; the file is corrupt", t.name, n_dims,
                       kMaxDims);
    }
    uint64_t ne[kMaxDims] = {1, 1, 1, 1};
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      st = r.read(&ne[d], "a dimension");
      if (!st.ok()) return st.with_context(fmt::format("tensor '{}'", t.name));
      if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(numel, ne[d], &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return data_loss("tensor '{}' has dimensions whose element count overflows 64 bits; the file is corrupt",
                         t.name);
      }
    }
    uint32_t ggml_type = 0;
    uint64_t offset = 0;
    st = r.read(&ggml_type, "the tensor type");
    if (st.ok()) st = r.read(&offset, "the data offset");
    if (!st.ok()) return st.with_context(fmt::format("tensor '{}'", t.name));

    std::optional<DType> dtype = dtype_from_ggml(ggml_type);
    if (!dtype) {
      return unimplemented("tensor '{}' has ggml type {} ({}), which Tandem does not load; use a model quantized "
                           "to F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K or Q6_K",
                           t.name, ggml_type, ggml_type_name(ggml_type));
    }
    t.dtype = *dtype;
    const DTypeInfo& info = dtype_info(t.dtype);
    if (ne[0] % static_cast<uint64_t>(info.block_elems) != 0) {
      return data_loss("tensor '{}' has rows of {} elements, not a multiple of the {} block size {}; the file is "
                       "corrupt",
                       t.name, ne[0], info.name, info.block_elems);
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel / static_cast<uint64_t>(info.block_elems),
                               static_cast<uint64_t>(info.block_bytes), &nbytes)) {
      return data_loss("tensor '{}' byte size overflows 64 bits; the file is corrupt", t.name);
    }
    t.nbytes = static_cast<size_t>(nbytes);
    for (uint32_t d = n_dims; d-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[d]));
    tensors_.push_back(std::move(t));
    offsets->push_back(offset);
  }
  return Status::Ok();
}

Status GgufFile::place_tensors(const std::vector<uint64_t>& offsets) {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TensorView& t = tensors_[i];
    const uint64_t offset = offsets[i];
    if (offset % alignment_ != 0) {
      return data_loss("tensor '{}' data offset {} is not a multiple of the alignment {}; the file is corrupt",
                       t.name, grouped(offset), alignment_);
    }
    if (offset > std::numeric_limits<uint64_t>::max() - data_offset_) {
      return data_loss("tensor '{}' data offset {} is beyond any file; the file is corrupt", t.name, grouped(offset));
    }
    const uint64_t at = data_offset_ + offset;
    if (at > size_ || t.nbytes > size_ - at) {
      return data_loss("model file truncated: tensor '{}' needs {} bytes at offset {}, file has {}; the download "
                       "or conversion was cut short, fetch or convert the file again",
                       t.name, grouped(t.nbytes), grouped(at), grouped(size_));
    }
    t.data = data_ + at;
  }
  return Status::Ok();
}

}  // namespace tandem::model
