// Test support: builds GGUF images byte by byte (v2/v3 layout; any version number may be
// stamped), with every metadata value type, tensors of any ggml type id and alignment padding.
// It records where each length and count field lies so corruption tests can overwrite them.
// Independent of the reader on purpose: it shares only the GgufValue struct and type ids.
// Thread model: plain object, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "worker/model/loader/gguf_types.h"

namespace tandem::model::testing {

GgufValue gv_u8(uint8_t v);
GgufValue gv_i8(int8_t v);
GgufValue gv_u16(uint16_t v);
GgufValue gv_i16(int16_t v);
GgufValue gv_u32(uint32_t v);
GgufValue gv_i32(int32_t v);
GgufValue gv_u64(uint64_t v);
GgufValue gv_i64(int64_t v);
GgufValue gv_f32(float v);
GgufValue gv_f64(double v);
GgufValue gv_bool(bool v);
GgufValue gv_str(std::string v);
GgufValue gv_array(GgufType elem, std::vector<GgufValue> items);

// Structural equality (f32 compared after rounding to float, as stored).
bool gguf_equal(const GgufValue& a, const GgufValue& b);
std::string gguf_describe(const GgufValue& v);  // "u32 7", "array of i32 [1, 2]"

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}

  void add(std::string key, GgufValue value);
  // Adds the general.alignment key (u32) and pads with this alignment.
  void set_alignment(uint32_t alignment);
  // data must hold the tensor's exact bytes; ne is in GGUF order (ne[0] contiguous).
  void add_tensor(std::string name, uint32_t ggml_type, std::vector<uint64_t> ne, std::string data);

  std::string build();

  // Valid after build(): file offsets of every u64 length or count field (header counts, key,
  // string and name lengths, array counts, dimensions), the data section start, and each
  // tensor's offset relative to it.
  const std::vector<size_t>& length_fields() const { return length_fields_; }
  size_t data_offset() const { return data_offset_; }
  const std::vector<uint64_t>& tensor_offsets() const { return tensor_offsets_; }

 private:
  struct Tensor {
    std::string name;
    uint32_t ggml_type;
    std::vector<uint64_t> ne;
    std::string data;
  };
  void put_u32(uint32_t v);
  void put_u64(uint64_t v, bool is_length);
  void put_string(const std::string& s);
  void put_value(const GgufValue& v);

  uint32_t version_;
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::vector<Tensor> tensors_;
  std::string out_;
  std::vector<size_t> length_fields_;
  size_t data_offset_ = 0;
  std::vector<uint64_t> tensor_offsets_;
};

// n deterministic pseudo-random bytes.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace tandem::model::testing
