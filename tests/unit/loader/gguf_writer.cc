#include "tests/unit/loader/gguf_writer.h"

#include <cstring>
#include <random>

#include <fmt/format.h>

namespace tandem::model::testing {

namespace {
GgufValue make(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}
}  // namespace

GgufValue gv_u8(uint8_t x) { auto v = make(GgufType::kU8); v.u = x; return v; }
GgufValue gv_i8(int8_t x) { auto v = make(GgufType::kI8); v.i = x; return v; }
GgufValue gv_u16(uint16_t x) { auto v = make(GgufType::kU16); v.u = x; return v; }
GgufValue gv_i16(int16_t x) { auto v = make(GgufType::kI16); v.i = x; return v; }
GgufValue gv_u32(uint32_t x) { auto v = make(GgufType::kU32); v.u = x; return v; }
GgufValue gv_i32(int32_t x) { auto v = make(GgufType::kI32); v.i = x; return v; }
GgufValue gv_u64(uint64_t x) { auto v = make(GgufType::kU64); v.u = x; return v; }
GgufValue gv_i64(int64_t x) { auto v = make(GgufType::kI64); v.i = x; return v; }
GgufValue gv_f32(float x) { auto v = make(GgufType::kF32); v.f = x; return v; }
GgufValue gv_f64(double x) { auto v = make(GgufType::kF64); v.f = x; return v; }
GgufValue gv_bool(bool x) { auto v = make(GgufType::kBool); v.b = x; return v; }
GgufValue gv_str(std::string x) { auto v = make(GgufType::kString); v.s = std::move(x); return v; }
GgufValue gv_array(GgufType elem, std::vector<GgufValue> items) {
  auto v = make(GgufType::kArray);
  v.elem_type = elem;
  v.items = std::move(items);
  return v;
}

bool gguf_equal(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64: return a.u == b.u;
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: return a.i == b.i;
    case GgufType::kF32: return static_cast<float>(a.f) == static_cast<float>(b.f);
    case GgufType::kF64: return a.f == b.f;
    case GgufType::kBool: return a.b == b.b;
    case GgufType::kString: return a.s == b.s;
    case GgufType::kArray:
      if (a.elem_type != b.elem_type || a.items.size() != b.items.size()) return false;
      for (size_t k = 0; k < a.items.size(); ++k) {
        if (!gguf_equal(a.items[k], b.items[k])) return false;
      }
      return true;
  }
  return false;
}

std::string gguf_describe(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64:
      return fmt::format("{} {}", gguf_type_name(v.type), v.u);
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64:
      return fmt::format("{} {}", gguf_type_name(v.type), v.i);
    case GgufType::kF32: case GgufType::kF64: return fmt::format("{} {}", gguf_type_name(v.type), v.f);
    case GgufType::kBool: return fmt::format("bool {}", v.b);
    case GgufType::kString: return fmt::format("string '{}'", v.s);
    case GgufType::kArray: {
      std::string s = fmt::format("array of {} [", gguf_type_name(v.elem_type));
      for (size_t k = 0; k < v.items.size(); ++k) s += (k ? ", " : "") + gguf_describe(v.items[k]);
      return s + "]";
    }
  }
  return "?";
}

void GgufWriter::add(std::string key, GgufValue value) { kvs_.emplace_back(std::move(key), std::move(value)); }

void GgufWriter::set_alignment(uint32_t alignment) {
  alignment_ = alignment;
  add("general.alignment", gv_u32(alignment));
}

void GgufWriter::add_tensor(std::string name, uint32_t ggml_type, std::vector<uint64_t> ne, std::string data) {
  tensors_.push_back({std::move(name), ggml_type, std::move(ne), std::move(data)});
}

void GgufWriter::put_u32(uint32_t v) { out_.append(reinterpret_cast<const char*>(&v), 4); }

void GgufWriter::put_u64(uint64_t v, bool is_length) {
  if (is_length) length_fields_.push_back(out_.size());
  out_.append(reinterpret_cast<const char*>(&v), 8);
}

void GgufWriter::put_string(const std::string& s) {
  put_u64(s.size(), true);
  out_ += s;
}

void GgufWriter::put_value(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: {
      const uint8_t b = v.type == GgufType::kBool ? v.b : v.type == GgufType::kU8 ? static_cast<uint8_t>(v.u)
                                                                                   : static_cast<uint8_t>(v.i);
      out_.push_back(static_cast<char>(b));
      return;
    }
    case GgufType::kU16: case GgufType::kI16: {
      const uint16_t x = v.type == GgufType::kU16 ? static_cast<uint16_t>(v.u) : static_cast<uint16_t>(v.i);
      out_.append(reinterpret_cast<const char*>(&x), 2);
      return;
    }
    case GgufType::kU32: put_u32(static_cast<uint32_t>(v.u)); return;
    case GgufType::kI32: put_u32(static_cast<uint32_t>(v.i)); return;
    case GgufType::kU64: put_u64(v.u, false); return;
    case GgufType::kI64: put_u64(static_cast<uint64_t>(v.i), false); return;
    case GgufType::kF32: {
      const float f = static_cast<float>(v.f);
      out_.append(reinterpret_cast<const char*>(&f), 4);
      return;
    }
    case GgufType::kF64: out_.append(reinterpret_cast<const char*>(&v.f), 8); return;
    case GgufType::kString: put_string(v.s); return;
    case GgufType::kArray:
      put_u32(static_cast<uint32_t>(v.elem_type));
      put_u64(v.items.size(), true);
      for (const GgufValue& item : v.items) put_value(item);
      return;
  }
}

std::string GgufWriter::build() {
  out_.clear();
  length_fields_.clear();
  tensor_offsets_.clear();
  out_ += "GGUF";
  put_u32(version_);
  put_u64(tensors_.size(), true);
  put_u64(kvs_.size(), true);
  for (const auto& [key, value] : kvs_) {
    put_string(key);
    put_u32(static_cast<uint32_t>(value.type));
    put_value(value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(t.name);
    put_u32(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put_u64(d, true);
    put_u32(t.ggml_type);
    put_u64(offset, false);
    tensor_offsets_.push_back(offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  data_offset_ = tensors_.empty() ? out_.size() : (out_.size() + alignment_ - 1) / alignment_ * alignment_;
  // Tensors are padded to the alignment between each other, not after the last one: every
  // strict prefix of the image then misses tensor bytes.
  for (size_t i = 0; i < tensors_.size(); ++i) {
    out_.resize(data_offset_ + tensor_offsets_[i], '\0');
    out_ += tensors_[i].data;
  }
  return out_;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace tandem::model::testing
