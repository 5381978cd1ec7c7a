// Files written by the upstream writers (gguf-py's GGUFWriter, the safetensors package), so the
// readers are checked against an independent implementation. Regenerate with
// tests/data/loader/make_reference_files.py; the expected values below mirror that script.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "common/dtype.h"
#include "tests/support/test_paths.h"
#include "worker/model/loader/gguf_file.h"
#include "worker/model/loader/safetensors_file.h"

namespace tandem::model {
namespace {

TEST(ReferenceFiles, GgufWrittenByGgufPy) {
  auto r = GgufFile::open(tandem::testing::data_path("loader/reference_v3.gguf"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const GgufFile& f = **r;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset(), 832u);
  EXPECT_EQ(*f.get_string("general.architecture"), "llama");
  EXPECT_EQ(*f.get_int("t.u8"), 200);
  EXPECT_EQ(*f.get_int("t.i8"), -100);
  EXPECT_EQ(*f.get_int("t.u16"), 60000);
  EXPECT_EQ(*f.get_int("t.i16"), -30000);
  EXPECT_EQ(*f.get_int("t.u32"), 4000000000ll);
  EXPECT_EQ(*f.get_int("t.i32"), -2000000000);
  EXPECT_EQ(*f.get_float("t.f32"), 0.15625);
  EXPECT_EQ(f.get_int("t.u64").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(f.get_value("t.u64")->u, (uint64_t{1} << 63) + 5);
  EXPECT_EQ(*f.get_int("t.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(*f.get_float("t.f64"), 3.141592653589793);
  EXPECT_EQ(*f.get_bool("t.bool"), true);
  EXPECT_EQ(*f.get_string("t.str"), "h\xc3\xa9llo \xe2\x9c\x93");
  EXPECT_EQ(*f.get_int_array("t.arr_i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*f.get_float_array("t.arr_f32"), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(*f.get_string_array("t.arr_str"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(*f.get_int_array("t.arr_bool"), (std::vector<int64_t>{1, 0, 1}));
  auto nested = f.get_value("t.nested");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->elem_type, GgufType::kArray);
  ASSERT_EQ(nested->items.size(), 2u);
  ASSERT_EQ(nested->items[0].items.size(), 2u);
  EXPECT_EQ(nested->items[0].items[1].i, 2);
  EXPECT_EQ(nested->items[1].items[0].i, 3);
  auto u64s = f.get_value("t.arr_u64");
  ASSERT_TRUE(u64s.ok());
  EXPECT_EQ(u64s->items[1].u, ~uint64_t{0});
  EXPECT_EQ(f.get_int_array("t.arr_u64").status().code(), StatusCode::kOutOfRange);

  ASSERT_EQ(f.tensors().size(), 3u);
  const TensorView* t = f.find_tensor("f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(static_cast<const float*>(t->data)[i], static_cast<float>(i));
  t = f.find_tensor("f16");
  ASSERT_NE(t, nullptr);
  const auto* h = static_cast<const uint16_t*>(t->data);
  EXPECT_EQ(fp16_to_fp32(h[0]), 1.0f);
  EXPECT_EQ(fp16_to_fp32(h[1]), -2.0f);
  EXPECT_EQ(fp16_to_fp32(h[3]), 65504.0f);
  t = f.find_tensor("q8_0");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kQ8_0);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(t->nbytes, 68u);
  for (int64_t r = 0; r < 2; ++r) {  // Q8_0 block: f16 scale then 32 int8; x = q * d
    const uint8_t* block = t->row(r);
    uint16_t d16;
    std::memcpy(&d16, block, 2);
    const float d = fp16_to_fp32(d16);
    for (int j = 0; j < 32; ++j) {
      const float want = (static_cast<float>(r * 32 + j) - 20.0f) / 8.0f;
      EXPECT_NEAR(static_cast<int8_t>(block[2 + j]) * d, want, d * 0.51f) << r << "," << j;
    }
  }
}

TEST(ReferenceFiles, SafetensorsWrittenByTheSafetensorsPackage) {
  auto r = SafetensorsCheckpoint::open(tandem::testing::data_path("loader/reference.safetensors"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const SafetensorsCheckpoint& c = **r;
  ASSERT_EQ(c.tensors().size(), 3u);
  const TensorView* t = c.find_tensor("f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kF32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(static_cast<const float*>(t->data)[i], static_cast<float>(i));
  t = c.find_tensor("f16");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kF16);
  EXPECT_EQ(fp16_to_fp32(static_cast<const uint16_t*>(t->data)[3]), 65504.0f);
  t = c.find_tensor("bf16");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kBF16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 2}));
  const auto* b = static_cast<const uint16_t*>(t->data);
  EXPECT_EQ(bf16_to_fp32(b[0]), 1.0f);
  EXPECT_EQ(bf16_to_fp32(b[1]), -3.0f);
  EXPECT_EQ(bf16_to_fp32(b[2]), 0.15625f);
  EXPECT_EQ(bf16_to_fp32(b[3]), 256.0f);
}

}  // namespace
}  // namespace tandem::model
