// The metadata key/value section of a GGUF file, indexed without copying. parse() walks and
// validates every entry once (bounds, type ids, nesting) and records where each value lies in the
// file image; the typed getters decode on request. A 49,152-entry token array therefore costs one
// validating scan at open and no allocation until someone asks for it.
// Thread model: build with parse() on one thread; afterwards immutable and safe to read from any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "worker/model/loader/byte_reader.h"
#include "worker/model/loader/gguf_types.h"

namespace tandem::model {

class GgufMetadata {
 public:
  // Deeper nesting than this is rejected: no real file nests arrays, and recursion depth must
  // stay bounded on hostile input.
  static constexpr int kMaxArrayDepth = 8;

  // Parses `count` entries at r's position and leaves r just after them. The image behind r
  // must outlive this object. `label` ("gguf '<path>'") starts every getter's error message.
  Status parse(ByteReader& r, uint64_t count, std::string label);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  std::vector<std::string> keys() const;  // in file order
  std::optional<GgufType> type_of(std::string_view key) const;

  StatusOr<int64_t> get_int(std::string_view key) const;
  StatusOr<double> get_float(std::string_view key) const;
  StatusOr<bool> get_bool(std::string_view key) const;
  StatusOr<std::string> get_string(std::string_view key) const;
  StatusOr<std::vector<std::string>> get_string_array(std::string_view key) const;
  StatusOr<std::vector<int64_t>> get_int_array(std::string_view key) const;
  StatusOr<std::vector<float>> get_float_array(std::string_view key) const;
  StatusOr<GgufValue> get_value(std::string_view key) const;

 private:
  struct Entry {
    std::string_view key;  // points into the image
    GgufType type;
    GgufType elem_type;  // arrays only
    uint64_t count;      // arrays only: number of elements
    size_t value_pos;    // image offset of the value; for arrays, of the first element
  };

  const Entry* find(std::string_view key) const;
  Status missing(std::string_view key) const;
  Status wrong_type(const Entry& e, std::string_view wanted) const;
  // Decodes the value of type t at pos (already validated); returns the position after it.
  size_t decode(GgufType t, size_t pos, GgufValue* out) const;

  const uint8_t* image_ = nullptr;
  size_t image_size_ = 0;
  std::string label_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string_view, size_t> index_;
};

}  // namespace tandem::model
