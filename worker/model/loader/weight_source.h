// What the model code needs from a checkpoint, whatever its format: named tensor views.
// GgufFile and SafetensorsCheckpoint implement it. Views stay valid while the source lives.
// Thread-safe after construction (read-only).
#pragma once

#include <string_view>
#include <vector>

#include "common/tensor_view.h"

namespace tandem::model {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual const std::vector<TensorView>& tensors() const = 0;
  // nullptr when absent.
  virtual const TensorView* find_tensor(std::string_view name) const = 0;
};

}  // namespace tandem::model
