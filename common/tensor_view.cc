#include "common/tensor_view.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tandem {

std::string TensorView::shape_string() const { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace tandem
