// Candidate lists for policy tests.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "gateway/routing/worker.h"

namespace tandem::gateway::routing::testing {

// Workers "w0".."w{n-1}" with the given total loads (put in `waiting`); zero when loads is short.
// Ids are built with fmt: GCC 12 warns falsely (-Wrestrict) on "w" + std::to_string(i) once inlined.
inline std::vector<WorkerSnapshot> make_workers(size_t n, std::vector<int64_t> loads = {}) {
  std::vector<WorkerSnapshot> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].spec.id = fmt::format("w{}", i);
    out[i].spec.url = fmt::format("127.0.0.1:{}", 40000 + i);
    out[i].health.healthy = true;
    out[i].load.waiting = i < loads.size() ? loads[i] : 0;
  }
  return out;
}

}  // namespace tandem::gateway::routing::testing
