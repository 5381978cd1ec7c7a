// Bounds-checked little-endian reads over an in-memory file image (an mmapped model file).
// Every read checks the remaining length before touching memory and reports a DATA_LOSS Status
// saying what was being read, where, and how much was missing, so a truncated or corrupt file
// becomes an error instead of an out-of-bounds read. Callers add context (which file, which
// entry) with Status::with_context.
// Thread model: a small value type; use one instance from one thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/status.h"

namespace tandem::model {

static_assert(std::endian::native == std::endian::little,
              "the model loaders read little-endian files by memcpy; port them for big-endian hosts");

// 1179648 -> "1,179,648": byte counts and offsets in error messages people read.
std::string grouped(uint64_t n);

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  // T is an arithmetic type; reads sizeof(T) bytes at pos() and advances.
  template <typename T>
  Status read(T* out, std::string_view what) {
    static_assert(std::is_arithmetic_v<T>);
    if (remaining() < sizeof(T)) return truncated(sizeof(T), what);
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  // Returns a pointer to the next n bytes (inside the image) and advances past them.
  Status take(uint64_t n, const uint8_t** out, std::string_view what) {
    if (remaining() < n) return truncated(n, what);
    *out = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }

  Status skip(uint64_t n, std::string_view what) {
    const uint8_t* ignored;
    return take(n, &ignored, what);
  }

  // pos must be <= size(); used to revisit a value found during a validating pass.
  void seek(size_t pos);

 private:
  Status truncated(uint64_t need, std::string_view what) const;

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace tandem::model
