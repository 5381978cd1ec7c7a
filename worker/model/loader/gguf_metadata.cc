#include "worker/model/loader/gguf_metadata.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace tandem::model {

namespace {

// Smallest encodings, used to reject element counts that cannot fit in the bytes left before
// looping or allocating: a string is at least its u64 length, an array its u32 type + u64 count.
constexpr size_t kMinStringBytes = 8;
constexpr size_t kMinArrayBytes = 12;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Status read_type(ByteReader& r, GgufType* out, std::string_view what) {
  uint32_t id = 0;
  RETURN_IF_ERROR(r.read(&id, what));
  std::optional<GgufType> t = gguf_type_from_id(id);
  if (!t) {
    return data_loss("{} at offset {} is {}, not a GGUF value type (0..12); the file is corrupt", what,
                     grouped(r.pos() - 4), id);
  }
  *out = *t;
  return Status::Ok();
}

Status skip_string(ByteReader& r) {
  uint64_t len = 0;
  RETURN_IF_ERROR(r.read(&len, "a string length"));
  return r.skip(len, "string bytes");
}

Status skip_array_elements(ByteReader& r, GgufType elem, uint64_t count, int depth) {
  if (size_t size = gguf_scalar_size(elem)) {
    if (count > r.remaining() / size) {
      return data_loss("array of {} {} values at offset {} needs more than the {} bytes left; the file is "
                       "truncated or corrupt",
                       grouped(count), gguf_type_name(elem), grouped(r.pos()), grouped(r.remaining()));
    }
    return r.skip(count * size, "array elements");
  }
  const size_t min_size = elem == GgufType::kString ? kMinStringBytes : kMinArrayBytes;
  if (count > r.remaining() / min_size) {
    return data_loss("array of {} {} values at offset {} cannot fit in the {} bytes left; the file is "
                     "truncated or corrupt",
                     grouped(count), gguf_type_name(elem), grouped(r.pos()), grouped(r.remaining()));
  }
  for (uint64_t k = 0; k < count; ++k) {
    if (elem == GgufType::kString) {
      RETURN_IF_ERROR(skip_string(r));
      continue;
    }
    if (depth + 1 > GgufMetadata::kMaxArrayDepth) {
      return data_loss("arrays nested more than {} deep at offset {}", GgufMetadata::kMaxArrayDepth,
                       grouped(r.pos()));
    }
    GgufType inner;
    uint64_t inner_count = 0;
    RETURN_IF_ERROR(read_type(r, &inner, "a nested array's element type"));
    RETURN_IF_ERROR(r.read(&inner_count, "a nested array's length"));
    RETURN_IF_ERROR(skip_array_elements(r, inner, inner_count, depth + 1));
  }
  return Status::Ok();
}

}  // namespace

Status GgufMetadata::parse(ByteReader& r, uint64_t count, std::string label) {
  image_ = r.data();
  image_size_ = r.size();
  label_ = std::move(label);
  entries_.clear();
  index_.clear();
  for (uint64_t n = 0; n < count; ++n) {
    Entry e{};
    uint64_t key_len = 0;
    const uint8_t* key = nullptr;
    Status st = r.read(&key_len, "the key length");
    if (st.ok()) st = r.take(key_len, &key, "the key");
    if (!st.ok()) return st.with_context(fmt::format("metadata entry #{}", n));
    e.key = std::string_view(reinterpret_cast<const char*>(key), key_len);
    const std::string context = fmt::format("metadata entry #{} ('{}')", n, e.key);
    if (!index_.emplace(e.key, entries_.size()).second) {
      return data_loss("{}: key appears twice; the file is corrupt", context);
    }
    st = read_type(r, &e.type, "the value type");
    if (st.ok() && e.type == GgufType::kArray) {
      st = read_type(r, &e.elem_type, "the array element type");
      if (st.ok()) st = r.read(&e.count, "the array length");
      e.value_pos = r.pos();
      if (st.ok()) st = skip_array_elements(r, e.elem_type, e.count, 1);
    } else if (st.ok()) {
      e.value_pos = r.pos();
      st = e.type == GgufType::kString ? skip_string(r) : r.skip(gguf_scalar_size(e.type), "the value");
    }
    if (!st.ok()) return st.with_context(context);
    entries_.push_back(e);
  }
  return Status::Ok();
}

const GgufMetadata::Entry* GgufMetadata::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::vector<std::string> GgufMetadata::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.emplace_back(e.key);
  return out;
}

std::optional<GgufType> GgufMetadata::type_of(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return std::nullopt;
  return e->type;
}

Status GgufMetadata::missing(std::string_view key) const {
  return not_found("{}: metadata key '{}' not found", label_, key);
}

Status GgufMetadata::wrong_type(const Entry& e, std::string_view wanted) const {
  std::string actual(gguf_type_name(e.type));
  if (e.type == GgufType::kArray) actual = fmt::format("array of {}", gguf_type_name(e.elem_type));
  return invalid_argument("{}: metadata key '{}' is {}, wanted {}", label_, e.key, actual, wanted);
}

size_t GgufMetadata::decode(GgufType t, size_t pos, GgufValue* out) const {
  // Everything here was bounds-checked by parse(); the image is immutable.
  const uint8_t* p = image_ + pos;
  out->type = t;
  switch (t) {
    case GgufType::kU8: out->u = load<uint8_t>(p); break;
    case GgufType::kI8: out->i = load<int8_t>(p); break;
    case GgufType::kU16: out->u = load<uint16_t>(p); break;
    case GgufType::kI16: out->i = load<int16_t>(p); break;
    case GgufType::kU32: out->u = load<uint32_t>(p); break;
    case GgufType::kI32: out->i = load<int32_t>(p); break;
    case GgufType::kU64: out->u = load<uint64_t>(p); break;
    case GgufType::kI64: out->i = load<int64_t>(p); break;
    case GgufType::kF32: out->f = load<float>(p); break;
    case GgufType::kF64: out->f = load<double>(p); break;
    case GgufType::kBool: out->b = load<uint8_t>(p) != 0; break;
    case GgufType::kString: {
      const uint64_t len = load<uint64_t>(p);
      out->s.assign(reinterpret_cast<const char*>(p + 8), len);
      return pos + 8 + len;
    }
    case GgufType::kArray: {
      out->elem_type = static_cast<GgufType>(load<uint32_t>(p));
      const uint64_t count = load<uint64_t>(p + 4);
      pos += kMinArrayBytes;
      out->items.resize(count);
      for (GgufValue& item : out->items) pos = decode(out->elem_type, pos, &item);
      return pos;
    }
  }
  return pos + gguf_scalar_size(t);
}

StatusOr<int64_t> GgufMetadata::get_int(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (!gguf_is_integer(e->type) && e->type != GgufType::kBool) return wrong_type(*e, "an integer");
  GgufValue v;
  decode(e->type, e->value_pos, &v);
  if (e->type == GgufType::kBool) return static_cast<int64_t>(v.b);
  if (e->type == GgufType::kI8 || e->type == GgufType::kI16 || e->type == GgufType::kI32 ||
      e->type == GgufType::kI64) {
    return v.i;
  }
  if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return make_status(StatusCode::kOutOfRange, "{}: metadata key '{}' holds {}, beyond the int64 range",
                       label_, key, v.u);
  }
  return static_cast<int64_t>(v.u);
}

StatusOr<double> GgufMetadata::get_float(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (!gguf_is_float(e->type) && !gguf_is_integer(e->type)) return wrong_type(*e, "a number");
  GgufValue v;
  decode(e->type, e->value_pos, &v);
  if (gguf_is_float(e->type)) return v.f;
  if (e->type == GgufType::kU8 || e->type == GgufType::kU16 || e->type == GgufType::kU32 ||
      e->type == GgufType::kU64) {
    return static_cast<double>(v.u);
  }
  return static_cast<double>(v.i);
}

StatusOr<bool> GgufMetadata::get_bool(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (e->type != GgufType::kBool) return wrong_type(*e, "bool");
  return image_[e->value_pos] != 0;
}

StatusOr<std::string> GgufMetadata::get_string(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (e->type != GgufType::kString) return wrong_type(*e, "string");
  GgufValue v;
  decode(e->type, e->value_pos, &v);
  return std::move(v.s);
}

StatusOr<std::vector<std::string>> GgufMetadata::get_string_array(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (e->type != GgufType::kArray || e->elem_type != GgufType::kString) return wrong_type(*e, "array of string");
  std::vector<std::string> out;
  out.reserve(e->count);
  size_t pos = e->value_pos;
  for (uint64_t k = 0; k < e->count; ++k) {
    const uint64_t len = load<uint64_t>(image_ + pos);
    out.emplace_back(reinterpret_cast<const char*>(image_ + pos + 8), len);
    pos += 8 + len;
  }
  return out;
}

StatusOr<std::vector<int64_t>> GgufMetadata::get_int_array(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (e->type != GgufType::kArray || (!gguf_is_integer(e->elem_type) && e->elem_type != GgufType::kBool)) {
    return wrong_type(*e, "array of integers");
  }
  const size_t size = gguf_scalar_size(e->elem_type);
  std::vector<int64_t> out(e->count);
  for (uint64_t k = 0; k < e->count; ++k) {
    GgufValue v;
    decode(e->elem_type, e->value_pos + k * size, &v);
    switch (e->elem_type) {
      case GgufType::kBool: out[k] = v.b; break;
      case GgufType::kI8:
      case GgufType::kI16:
      case GgufType::kI32:
      case GgufType::kI64: out[k] = v.i; break;
      default:
        if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return make_status(StatusCode::kOutOfRange,
                             "{}: metadata key '{}' element {} holds {}, beyond the int64 range", label_, key, k,
                             v.u);
        }
        out[k] = static_cast<int64_t>(v.u);
    }
  }
  return out;
}

StatusOr<std::vector<float>> GgufMetadata::get_float_array(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  if (e->type != GgufType::kArray || (!gguf_is_float(e->elem_type) && !gguf_is_integer(e->elem_type))) {
    return wrong_type(*e, "array of numbers");
  }
  const size_t size = gguf_scalar_size(e->elem_type);
  std::vector<float> out(e->count);
  if (e->elem_type == GgufType::kF32) {  // the common case (token scores): one copy
    if (e->count > 0) std::memcpy(out.data(), image_ + e->value_pos, e->count * sizeof(float));
    return out;
  }
  for (uint64_t k = 0; k < e->count; ++k) {
    GgufValue v;
    decode(e->elem_type, e->value_pos + k * size, &v);
    if (gguf_is_float(e->elem_type)) {
      out[k] = static_cast<float>(v.f);
    } else if (e->elem_type == GgufType::kI8 || e->elem_type == GgufType::kI16 ||
               e->elem_type == GgufType::kI32 || e->elem_type == GgufType::kI64) {
      out[k] = static_cast<float>(v.i);
    } else {
      out[k] = static_cast<float>(v.u);
    }
  }
  return out;
}

StatusOr<GgufValue> GgufMetadata::get_value(std::string_view key) const {
  const Entry* e = find(key);
  if (!e) return missing(key);
  GgufValue v;
  if (e->type != GgufType::kArray) {
    decode(e->type, e->value_pos, &v);
    return v;
  }
  v.type = GgufType::kArray;
  v.elem_type = e->elem_type;
  v.items.resize(e->count);
  size_t pos = e->value_pos;
  for (GgufValue& item : v.items) pos = decode(e->elem_type, pos, &item);
  return v;
}

}  // namespace tandem::model
