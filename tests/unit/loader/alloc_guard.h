// Test support: records the largest single operator-new allocation, so corruption tests can
// assert that a hostile length never turns into an absurd allocation (the binary that links
// alloc_guard.cc replaces the global operator new/delete). Thread-safe.
#pragma once

#include <cstddef>

namespace tandem::model::testing {

void reset_largest_allocation();
size_t largest_allocation();

}  // namespace tandem::model::testing
