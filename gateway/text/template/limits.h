// Resource limits for one render. A chat template is code that came with a model file; these keep
// a buggy or hostile one from hanging a gateway thread, exhausting memory or the stack.
// Exceeding one is a kResourceExhausted error naming the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::text::jinja {

struct RenderLimits {
  // Rendered output, and any single string built while rendering.
  size_t max_output_bytes = size_t{32} << 20;
  // Work units: one per node evaluated, plus one per list element or 64 bytes copied by
  // concatenation. Real chat templates use about 10^2 units per message.
  int64_t max_work = 20'000'000;
  // Nested evaluation (expressions inside statements inside macro calls ...). Bounds native stack
  // use to well under 1 MiB.
  int max_depth = 400;
  // Largest range() (the same cap as Jinja's sandbox, MAX_RANGE).
  int64_t max_range = 100'000;
};

}  // namespace tandem::text::jinja
