// Reference quantization: bit-exact decoding against gguf-py's decoder (golden file made by
// data/make_dequant_golden.py), hand-built blocks, and quantize -> dequantize round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "kernels/reference/quant.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/support/test_paths.h"

namespace tandem::kernels {
namespace {

uint32_t read_u32(std::ifstream& f) {
  uint32_t v = 0;
  f.read(reinterpret_cast<char*>(&v), 4);
  return v;
}

TEST(QuantTest, DequantizeMatchesGgufPyBitForBit) {
  const std::string path = tandem::testing::source_dir() + "/tests/kernels/data/dequant_golden.bin";
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "missing " << path << " (regenerate with tests/kernels/data/make_dequant_golden.py)";
  int tensors = 0;
  std::vector<DType> seen;
  while (f.peek() != EOF) {
    const uint32_t ggml = read_u32(f), n = read_u32(f), nbytes = read_u32(f);
    const std::optional<DType> type = dtype_from_ggml(ggml);
    ASSERT_TRUE(type.has_value()) << "ggml type " << ggml;
    ASSERT_EQ(nbytes, row_bytes(*type, n)) << dtype_name(*type);
    std::vector<uint8_t> raw(nbytes);
    std::vector<float> want(n), got(n);
    f.read(reinterpret_cast<char*>(raw.data()), nbytes);
    f.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(n) * 4);
    ASSERT_TRUE(f) << "truncated golden file";
    ref::dequantize_row(*type, raw.data(), n, got.data());
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
          << dtype_name(*type) << " element " << i << ": got " << got[i] << " want " << want[i];
    }
    seen.push_back(*type);
    ++tensors;
  }
  EXPECT_EQ(tensors, 7);
  for (DType t : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ4_K, DType::kQ6_K}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), t), seen.end()) << dtype_name(t) << " missing from golden file";
  }
}

void put_f16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

TEST(QuantTest, Q4_1BlockLayout) {
  uint8_t b[20];
  put_f16(b, 0.5f);
  put_f16(b + 2, -1.0f);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  float y[32];
  ref::dequantize_row(DType::kQ4_1, b, 32, y);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * j - 1.0f) << j;              // low nibbles: elements 0..15
    EXPECT_EQ(y[16 + j], 0.5f * (15 - j) - 1.0f) << j;  // high nibbles: elements 16..31
  }
}

TEST(QuantTest, Q8_0BlockLayout) {
  uint8_t b[34];
  put_f16(b, 0.25f);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16) * 4);
  float y[32];
  ref::dequantize_row(DType::kQ8_0, b, 32, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.25f * static_cast<float>(static_cast<int8_t>((j - 16) * 4))) << j;
}

// Worst |x - dequant(quant(x))| per block group, relative to that group's value range, stays
// within what each format's step size allows (bounds derived in the comments).
TEST(QuantTest, RoundTripErrorWithinFormatBounds) {
  struct Case {
    DType type;
    int group;     // elements the bound is measured over
    double bound;  // fraction of the group's max |x|
  };
  const Case cases[] = {
      {DType::kQ8_0, 32, 0.5 / 127 + 1.0 / 1024},  // half a step + f16 scale rounding
      {DType::kQ4_0, 32, 0.13},                     // step amax/8; the far side clamps at 7
      {DType::kQ4_1, 32, 2.0 / 30 + 1.0 / 1024},    // half a step of range/15, range <= 2 amax
      {DType::kQ4_K, 256, 0.08},                    // half step + 6-bit sub-block scale/min rounding
      {DType::kQ6_K, 256, 0.03},                    // half of amax/31 + 8-bit sub-block scale rounding
      {DType::kF16, 1, 1.0 / 2048},
      {DType::kBF16, 1, 1.0 / 256},
      {DType::kF32, 1, 0.0},
  };
  std::mt19937 rng(11);
  for (const Case& c : cases) {
    // Ranges keep every f16 scale normal (subnormal scales lose precision by design of the format).
    for (float range : {0.5f, 1.0f, 300.0f}) {
      const int64_t n = 1024;
      std::vector<float> x = testing::random_floats(rng, n, -range, range);
      x[5] = 0.0f;
      std::vector<uint8_t> q(row_bytes(c.type, n));
      std::vector<float> y(n);
      ref::quantize_row(c.type, x.data(), n, q.data());
      ref::dequantize_row(c.type, q.data(), n, y.data());
      for (int64_t g = 0; g < n; g += c.group) {
        double amax = 0, err = 0;
        for (int i = 0; i < c.group; ++i) {
          amax = std::max(amax, std::fabs(static_cast<double>(x[g + i])));
          err = std::max(err, std::fabs(static_cast<double>(x[g + i]) - y[g + i]));
        }
        ASSERT_LE(err, c.bound * amax + 1e-30) << dtype_name(c.type) << " range " << range << " group at " << g;
      }
    }
  }
}

TEST(QuantTest, AllZeroBlocksStayZero) {
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ4_K, DType::kQ6_K}) {
    std::vector<float> x(512, 0.0f), y(512, 1.0f);
    std::vector<uint8_t> q(row_bytes(t, 512));
    ref::quantize_row(t, x.data(), 512, q.data());
    ref::dequantize_row(t, q.data(), 512, y.data());
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(QuantTest, SimulatedActivationQuantization) {
  std::mt19937 rng(3);
  std::vector<float> x = testing::random_activations(rng, 256), y(256);
  ref::simulate_act_quant(x.data(), 256, y.data());
  for (int b = 0; b < 256; b += 32) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float d = amax / 127.0f;
    for (int i = 0; i < 32; ++i) {
      const float q = y[b + i] / d;
      EXPECT_NEAR(q, std::round(q), 1e-3) << "not on the int8 grid at " << b + i;
      EXPECT_LE(std::fabs(y[b + i] - x[b + i]), 0.5f * d * 1.0001f) << b + i;
    }
  }
}

}  // namespace
}  // namespace tandem::kernels
