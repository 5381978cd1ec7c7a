// A non-owning view of a weight tensor (typically inside an mmapped model file).
// shape is outermost-first: a matrix [rows, cols] has cols contiguous; a linear layer's weight is
// [out_features, in_features] (GGUF's ne[] order is reversed into this). data stays valid while
// the owning file object lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace tandem {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t rows() const { return shape.size() <= 1 ? 1 : numel() / shape.back(); }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  size_t row_stride_bytes() const { return row_bytes(dtype, cols()); }
  const uint8_t* row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_stride_bytes();
  }
  std::string shape_string() const;  // "[49152, 576]"
};

}  // namespace tandem
