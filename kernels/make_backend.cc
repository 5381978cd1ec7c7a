// Backend selection by name (--device). Kept apart from backend.h's inline defaults so that only
// binaries that choose a device link the CUDA backend.
#include <charconv>
#include <string_view>

#include "kernels/backend.h"
#if TANDEM_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace tandem::kernels {

bool cuda_backend_built() { return TANDEM_HAVE_CUDA != 0; }

StatusOr<std::unique_ptr<Backend>> make_backend(const std::string& device, int cpu_threads) {
  if (device == "cpu") return make_cpu_backend(cpu_threads);
  std::string_view d = device;
  if (d.starts_with("cuda")) {
    int index = 0;
    if (d.size() > 4) {
      std::string_view num = d.substr(5);
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
      if (d[4] != ':' || num.empty() || ec != std::errc() || ptr != num.data() + num.size() || index < 0) {
        return invalid_argument("device '{}' is not cpu, cuda or cuda:N", device);
      }
    }
#if TANDEM_HAVE_CUDA
    return make_cuda_backend(index);
#else
    return unimplemented("device '{}': this tandem was built without the CUDA backend (configure on a "
                         "machine with nvcc, or with -DTANDEM_CUDA=ON)", device);
#endif
  }
  return invalid_argument("device '{}' is not cpu, cuda or cuda:N", device);
}

}  // namespace tandem::kernels
