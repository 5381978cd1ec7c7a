// CPU matmul vs the reference, every weight dtype, every ISA level under test.
// Quantized weights are checked twice: tightly against a reference that applies the same int8
// activation rounding (isolates the integer kernels), and loosely against plain fp32 math (bounds
// the activation-quantization error). Tolerances are relative to each output's magnitude:
//   M = sum_t |w_t x_t|                 (what float summation errors scale with)
//   E = sqrt(sum_t w_t^2 d_t^2 / 12)    (std. dev. of the activation rounding error: x_t moves by
//                                        up to d_t / 2, d_t = its block's amax / 127)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/ops.h"
#include "kernels/reference/quant.h"
#include "tests/kernels/kernel_test_util.h"

namespace tandem::kernels {
namespace {

using testing::dequantize_matrix;
using testing::isas_under_test;

struct Shape {
  int64_t m, n, k;
};

// Odd m, n not a multiple of any tile, k from one block to past the AVX-512 K chunk (2048).
const Shape kShapes[] = {
    {1, 1, 32},   {1, 17, 96},  {3, 48, 576},  {13, 69, 256}, {33, 17, 576}, {33, 5, 256},
    {1, 192, 576}, {8, 16, 4096}, {2, 35, 4096}, {9, 40, 1536}, {4, 33, 512},
};

constexpr DType kAllTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ4_K,
                               DType::kQ6_K, DType::kF32,  DType::kF16,  DType::kBF16};

struct Magnitudes {
  std::vector<double> sum_abs, act_noise;
};

Magnitudes magnitudes(const std::vector<float>& x, const std::vector<float>& w, int64_t m, int64_t n, int64_t k) {
  Magnitudes g;
  g.sum_abs.resize(static_cast<size_t>(m * n));
  g.act_noise.resize(static_cast<size_t>(m * n));
  std::vector<double> step(static_cast<size_t>(k));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t t = 0; t < k; t += 32) {
      double amax = 0;
      for (int u = 0; u < 32 && t + u < k; ++u) amax = std::max(amax, std::fabs(static_cast<double>(x[i * k + t + u])));
      for (int u = 0; u < 32 && t + u < k; ++u) step[t + u] = amax / 127.0;
    }
    for (int64_t j = 0; j < n; ++j) {
      double a = 0, e = 0;
      for (int64_t t = 0; t < k; ++t) {
        const double wt = w[j * k + t];
        a += std::fabs(static_cast<double>(x[i * k + t]) * wt);
        e += wt * wt * step[t] * step[t] / 12.0;
      }
      g.sum_abs[i * n + j] = a;
      g.act_noise[i * n + j] = std::sqrt(e);
    }
  }
  return g;
}

void check_matmul(CpuIsa isa, int threads, DType type, const Shape& s, bool random_blocks, bool with_bias, uint32_t seed,
                  int act_levels = 1) {
  random_blocks = random_blocks && dtype_info(type).quantized;  // random bits are no float data
  SCOPED_TRACE(::testing::Message() << cpu_isa_name(isa) << " threads=" << threads << " " << dtype_name(type) << " m=" << s.m
                                    << " n=" << s.n << " k=" << s.k << (random_blocks ? " random-blocks" : "")
                                    << (with_bias ? " bias" : "") << " act_levels=" << act_levels);
  std::mt19937 rng(seed);
  const std::vector<float> x = testing::random_activations(rng, static_cast<size_t>(s.m * s.k));
  testing::Weights w = random_blocks ? testing::make_random_block_weights(rng, type, s.n, s.k)
                                     : testing::make_weights(type, s.n, s.k, testing::random_floats(rng, s.n * s.k));
  std::vector<float> bias;
  if (with_bias) bias = testing::random_floats(rng, static_cast<size_t>(s.n));
  const float* b = with_bias ? bias.data() : nullptr;

  auto backend = make_cpu_backend(threads, isa, act_levels);
  std::vector<float> y(static_cast<size_t>(s.m * s.n), NAN);
  backend->matmul(x.data(), s.m, w.view, b, y.data());

  const bool quantized = dtype_info(type).quantized;
  std::vector<float> y_ref(y.size()), y_refq(y.size());
  ref::matmul(x.data(), s.m, w.view, b, y_ref.data(), false);
  if (quantized) ref::matmul(x.data(), s.m, w.view, b, y_refq.data(), true);
  const Magnitudes g = magnitudes(x, dequantize_matrix(w.view), s.m, s.n, s.k);

  int failures = 0;
  for (size_t i = 0; i < y.size() && failures < 5; ++i) {
    const double M = g.sum_abs[i], E = g.act_noise[i];
    if (quantized && act_levels == 2) {
      // The second int8 level quantizes the first level's rounding error (at most half a step),
      // so the activation noise left is E / 254.
      const double tol = 6.0 * E / 254.0 + 3e-5 * M + 1e-5;
      if (!(std::fabs(y[i] - y_ref[i]) <= tol)) {
        ADD_FAILURE() << "two-level vs fp32 reference at " << i << ": got " << y[i] << " want " << y_ref[i] << " (tol " << tol << ")";
        ++failures;
      }
    } else if (quantized) {
      const double tight = 3e-5 * M + 1e-5;
      if (!(std::fabs(y[i] - y_refq[i]) <= tight)) {
        ADD_FAILURE() << "vs act-quant reference at " << i << ": got " << y[i] << " want " << y_refq[i] << " (tol " << tight << ")";
        ++failures;
      }
      const double loose = 6.0 * E + 3e-5 * M + 1e-5;
      if (!(std::fabs(y[i] - y_ref[i]) <= loose)) {
        ADD_FAILURE() << "vs fp32 reference at " << i << ": got " << y[i] << " want " << y_ref[i] << " (tol " << loose << ")";
        ++failures;
      }
    } else {
      const double tol = 2e-6 * M + 1e-6;
      if (!(std::fabs(y[i] - y_ref[i]) <= tol)) {
        ADD_FAILURE() << "at " << i << ": got " << y[i] << " want " << y_ref[i] << " (tol " << tol << ")";
        ++failures;
      }
    }
  }
}

class MatmulTest : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulTest, MatchesReferenceOnAllShapes) {
  const DType type = GetParam();
  const int be = dtype_info(type).block_elems;
  uint32_t seed = 1;
  for (CpuIsa isa : isas_under_test()) {
    for (const Shape& s : kShapes) {
      if (s.k % be != 0) continue;
      ++seed;
      const bool random_blocks = dtype_info(type).quantized && seed % 2 == 0;
      check_matmul(isa, 3, type, s, random_blocks, seed % 3 == 0, seed, /*act_levels=*/1);
      if (dtype_info(type).quantized) check_matmul(isa, 3, type, s, random_blocks, seed % 3 == 0, seed, /*act_levels=*/2);
    }
  }
}

TEST_P(MatmulTest, SingleThreadAndManyThreadsAgree) {
  const DType type = GetParam();
  const Shape s = dtype_info(type).block_elems == 256 ? Shape{5, 40, 512} : Shape{5, 40, 160};
  for (CpuIsa isa : isas_under_test()) {
    check_matmul(isa, 1, type, s, false, true, 77);
    check_matmul(isa, 8, type, s, true, false, 78);
  }
}

// The default model's hot shapes at decode and batch sizes, random raw blocks.
TEST_P(MatmulTest, DefaultModelShapes) {
  const DType type = GetParam();
  if (type != DType::kQ4_1 && type != DType::kQ8_0) GTEST_SKIP() << "the default model uses Q4_1 and Q8_0 matrices";
  for (CpuIsa isa : isas_under_test()) {
    for (int64_t m : {1, 8, 32}) {
      check_matmul(isa, 2, type, {m, 192, 576}, true, false, 100 + static_cast<uint32_t>(m));
      check_matmul(isa, 2, type, {m, 576, 1536}, true, false, 200 + static_cast<uint32_t>(m));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest, ::testing::ValuesIn(kAllTypes),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); });

TEST(MatmulTest, ZeroActivationsGiveBias) {
  std::mt19937 rng(5);
  for (CpuIsa isa : isas_under_test()) {
    auto backend = make_cpu_backend(2, isa);
    for (DType type : kAllTypes) {
      const int64_t k = 256, n = 20, m = 3;
      testing::Weights w = testing::make_weights(type, n, k, testing::random_floats(rng, n * k));
      std::vector<float> x(static_cast<size_t>(m * k), 0.0f), bias = testing::random_floats(rng, n), y(m * n, NAN);
      backend->matmul(x.data(), m, w.view, bias.data(), y.data());
      for (int64_t i = 0; i < m * n; ++i) ASSERT_EQ(y[i], bias[i % n]) << cpu_isa_name(isa) << " " << dtype_name(type);
    }
  }
}

}  // namespace
}  // namespace tandem::kernels
