// A Backend whose every op is the scalar reference (ops.h). Slow; for tests, for checking a model
// forward end to end against the fast backends, and as a last-resort fallback.
// Thread model: as Backend (one caller at a time); it has no state.
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace tandem::kernels::ref {

std::unique_ptr<Backend> make_reference_backend();

}  // namespace tandem::kernels::ref
