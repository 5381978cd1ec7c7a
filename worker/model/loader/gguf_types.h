// GGUF metadata value types (the on-disk gguf_type ids) and a decoded value tree for callers
// that want a key whatever its type (dump tools, tests). Model code normally uses GgufFile's
// typed getters instead. Thread model: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::model {

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// nullopt for ids outside the enum (a corrupt or newer file).
std::optional<GgufType> gguf_type_from_id(uint32_t id);
std::string_view gguf_type_name(GgufType t);  // "u32", "string", "array", ...
// Bytes of a fixed-size value; 0 for string and array.
size_t gguf_scalar_size(GgufType t);
bool gguf_is_integer(GgufType t);  // u8..i64 (not bool)
bool gguf_is_float(GgufType t);    // f32, f64

// One decoded value. Which members are meaningful depends on `type`:
//   unsigned integers -> u; signed integers -> i; bool -> b; f32/f64 -> f; string -> s;
//   array -> elem_type and items (nested arrays allowed).
struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  double f = 0.0;
  std::string s;
  GgufType elem_type = GgufType::kU8;
  std::vector<GgufValue> items;
};

}  // namespace tandem::model
