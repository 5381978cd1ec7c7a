// Shared helpers for the CUDA kernel tests: a fixture that skips without a GPU, device buffers
// filled from host vectors or poisoned with NaN, and the relative-error measure of METHOD.md
// (‖got − want‖ / ‖want‖, NaN never passes).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"

namespace tandem::kernels::testing {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device visible (cudaGetDeviceCount reports none or fails): CUDA tests need a GPU";
    }
    auto b = make_cuda_backend(0);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    be_ = std::move(*b);
  }
  void TearDown() override {
    bufs_.clear();
    be_.reset();
  }

  template <typename T>
  T* upload(const std::vector<T>& h) {
    bufs_.emplace_back(*be_, std::max<size_t>(h.size(), 1) * sizeof(T));
    be_->copy_to_backend(bufs_.back().get(), h.data(), h.size() * sizeof(T));
    return bufs_.back().as<T>();
  }
  // Device floats set to NaN: an element the kernel fails to write stays NaN and fails the check.
  float* poisoned(size_t n) { return upload(std::vector<float>(n, std::numeric_limits<float>::quiet_NaN())); }
  template <typename T>
  std::vector<T> download(const T* d, size_t n) {
    std::vector<T> h(n);
    be_->copy_to_host(h.data(), d, n * sizeof(T));
    return h;
  }

  std::unique_ptr<Backend> be_;
  std::vector<BackendBuffer> bufs_;
};

// ‖got − want‖ / ‖want‖ in double; +inf when any element of got is not finite (or sizes differ).
inline double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace tandem::kernels::testing
