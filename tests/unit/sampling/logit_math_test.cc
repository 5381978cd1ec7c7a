#include "worker/sampling/logit_math.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"
#include "worker/sampling/exp_kernels.h"

namespace tandem::sampling {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(FastExpTest, MatchesStdExpToFloatPrecision) {
  double worst = 0.0;
  for (float x = -87.0f; x <= 0.0f; x += 0.001f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_exp(x) - want) / want);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
}

TEST(FastExpTest, UnderflowMaskedAndNaNGiveExactlyZero) {
  EXPECT_EQ(fast_exp(kNegInf), 0.0f);
  EXPECT_EQ(fast_exp(kNaN), 0.0f);
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
  EXPECT_GT(fast_exp(-87.0f), 0.0f);
}

TEST(MaxLogitTest, IgnoresNaNAndHandlesEveryTailLength) {
  std::mt19937 gen(7);
  for (int32_t n = 1; n <= 70; ++n) {
    std::vector<float> x = testing::random_logits(n, 100 + n);
    x[gen() % n] = kNaN;
    float want = kNegInf;
    for (float v : x) {
      if (v > want) want = v;
    }
    EXPECT_EQ(max_logit(x.data(), n), want) << "n=" << n;
  }
  const std::vector<float> masked(33, kNegInf);
  EXPECT_EQ(max_logit(masked.data(), 33), kNegInf);
}

TEST(ArgmaxLogitTest, FirstIndexOfTheMaximum) {
  for (int32_t n : {1, 3, 4, 15, 16, 17, 31, 64, 100, 1000}) {
    for (int32_t where : {0, n / 2, n - 1}) {
      std::vector<float> x = testing::random_logits(n, 7 * n + where);
      x[where] = 50.0f;
      EXPECT_EQ(argmax_logit(x.data(), n), where) << "n=" << n;
      // A later tie does not win; an earlier tie does.
      if (where + 1 < n) {
        x[n - 1] = 50.0f;
        EXPECT_EQ(argmax_logit(x.data(), n), where) << "n=" << n;
      }
      if (where > 0) {
        x[0] = 50.0f;
        EXPECT_EQ(argmax_logit(x.data(), n), 0) << "n=" << n;
      }
    }
  }
}

TEST(ArgmaxLogitTest, NaNNeverWinsAndAllMaskedGivesMinusOne) {
  std::vector<float> x(40, kNegInf);
  EXPECT_EQ(argmax_logit(x.data(), 40), -1);
  x[5] = kNaN;
  EXPECT_EQ(argmax_logit(x.data(), 40), -1);
  x[37] = -3.0f;
  EXPECT_EQ(argmax_logit(x.data(), 40), 37);
}

TEST(ExpPassTest, SumsAndBlocksMatchDoubleReference) {
  const int32_t n = 3 * kExpBlock + 37;  // a partial last block
  std::vector<float> x = testing::random_logits(n, 11, 3.0f);
  x[10] = kNegInf;
  const float max = max_logit(x.data(), n);
  const float scale = 1.0f / 0.7f;
  std::vector<float> w(n), blocks(num_exp_blocks(n));
  const double total = exp_pass(x.data(), n, max, scale, 0.0f, w.data(), blocks.data());
  double want_total = 0.0;
  std::vector<double> want_blocks(blocks.size(), 0.0);
  for (int32_t i = 0; i < n; ++i) {
    // The argument is rounded to float as in the implementation; exp itself is what is checked.
    const float arg = (x[i] - max) * scale;
    const double want = std::exp(static_cast<double>(arg));
    EXPECT_NEAR(w[i], want, 3e-7 * want + 1e-30) << i;
    want_total += want;
    want_blocks[i / kExpBlock] += want;
  }
  EXPECT_EQ(w[10], 0.0f);
  EXPECT_NEAR(total, want_total, 1e-6 * want_total);
  for (size_t b = 0; b < blocks.size(); ++b) {
    EXPECT_NEAR(blocks[b], want_blocks[b], 1e-6 * want_blocks[b]) << b;
    // Recomputing one block alone reproduces exp_pass exactly (the draw relies on it).
    std::vector<float> again(kExpBlock);
    const auto begin = static_cast<int32_t>(b) * kExpBlock;
    const int32_t end = std::min(n, begin + kExpBlock);
    EXPECT_EQ(exp_range(x.data(), begin, end, max, scale, 0.0f, again.data()), blocks[b]);
    for (int32_t i = begin; i < end; ++i) EXPECT_EQ(again[i - begin], w[i]);
  }
}

TEST(ExpPassTest, MinWeightZeroesSmallWeights) {
  const std::vector<float> x = {0.0f, -0.5f, -1.0f, -2.0f, -3.0f, 0.0f, -0.1f, -5.0f, -0.2f};
  std::vector<float> w(x.size());
  const float min_weight = std::exp(-1.5f);
  const double total =
      exp_pass(x.data(), static_cast<int32_t>(x.size()), 0.0f, 1.0f, min_weight, w.data(), nullptr);
  double want_total = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -1.5f) {
      EXPECT_EQ(w[i], 0.0f) << i;
    } else {
      EXPECT_GT(w[i], 0.0f) << i;
      want_total += std::exp(static_cast<double>(x[i]));
    }
  }
  EXPECT_NEAR(total, want_total, 1e-6);
}

TEST(ExpKernelsTest, Avx2AndBaselineGiveIdenticalBits) {
  const detail::ExpRangeFn avx2 = detail::exp_range_avx2_if_supported();
  if (avx2 == nullptr) GTEST_SKIP() << "no AVX2 on this CPU: only the baseline kernel runs";
  std::vector<float> x = testing::random_logits(1000, 12, 4.0f);
  x[3] = kNegInf;
  x[17] = kNaN;
  x[40] = -200.0f;
  const float max = max_logit(x.data(), 1000);
  for (auto [begin, end] : {std::pair{0, 1000}, std::pair{0, 7}, std::pair{5, 261}, std::pair{256, 512}}) {
    for (float min_weight : {0.0f, 0.01f}) {
      for (float scale : {1.0f, 1.0f / 0.7f, 25.0f}) {
        std::vector<float> a(end - begin), b(end - begin);
        const float sa = detail::exp_range_baseline(x.data(), begin, end, max, scale, min_weight,
                                                    a.data());
        const float sb = avx2(x.data(), begin, end, max, scale, min_weight, b.data());
        EXPECT_EQ(sa, sb) << begin << ".." << end;
        EXPECT_EQ(a, b) << begin << ".." << end;
      }
    }
  }
}

TEST(LogSumExpTest, MatchesReferenceAndHandlesMaskedRows) {
  const std::vector<float> x = testing::random_logits(1001, 3, 4.0f);
  double max = -1e300, sum = 0.0;
  for (float v : x) max = std::max(max, static_cast<double>(v));
  for (float v : x) sum += std::exp(v - max);
  EXPECT_NEAR(log_sum_exp(x.data(), 1001), max + std::log(sum), 1e-5);
  const std::vector<float> masked(9, kNegInf);
  EXPECT_EQ(log_sum_exp(masked.data(), 9), -std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace tandem::sampling
