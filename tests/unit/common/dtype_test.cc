#include "common/dtype.h"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(DTypeTest, BlockSizes) {
  EXPECT_EQ(row_bytes(DType::kF32, 10), 40u);
  EXPECT_EQ(row_bytes(DType::kQ4_1, 576), 18u * 20u);
  EXPECT_EQ(row_bytes(DType::kQ8_0, 64), 68u);
  EXPECT_EQ(row_bytes(DType::kQ6_K, 512), 420u);
  for (uint32_t g : {0u, 1u, 2u, 3u, 8u, 12u, 14u, 30u}) {
    auto t = dtype_from_ggml(g);
    ASSERT_TRUE(t.has_value()) << g;
    EXPECT_EQ(dtype_to_ggml(*t), g);
  }
  EXPECT_FALSE(dtype_from_ggml(6).has_value());  // Q5_0: not loaded
}

// Every finite half converts to float and back exactly.
TEST(DTypeTest, HalfRoundTripAllValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(fp32_to_fp16(f), h) << std::hex << h;
  }
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // rounds to infinity
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
}

TEST(DTypeTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  float f;
  uint32_t u = 0x3f808000;  // exactly halfway between 0x3f80 and 0x3f81
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(fp32_to_bf16(f), 0x3f80);
  u = 0x3f818000;
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(fp32_to_bf16(f), 0x3f82);
}

}  // namespace
}  // namespace tandem
