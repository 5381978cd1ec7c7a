// GgufFile against images written by tests/unit/loader/gguf_writer: every metadata type, every
// tensor type Tandem loads, alignment, and each kind of malformed header the reader must refuse.
#include "worker/model/loader/gguf_file.h"

#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "common/dtype.h"
#include "tests/unit/loader/gguf_writer.h"
#include "tests/unit/loader/temp_dir.h"

namespace tandem::model {
namespace {

using testing::gguf_describe;
using testing::gguf_equal;
using testing::GgufWriter;
using testing::random_bytes;
using namespace testing;  // gv_* constructors

constexpr uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ8_0 = 8, kGgmlQ4_K = 12,
                   kGgmlQ6_K = 14, kGgmlBF16 = 30, kGgmlQ2_K = 10;

std::vector<std::pair<std::string, GgufValue>> all_value_types() {
  return {
      {"u8", gv_u8(255)},
      {"i8", gv_i8(-128)},
      {"u16", gv_u16(65535)},
      {"i16", gv_i16(-32768)},
      {"u32", gv_u32(4294967295u)},
      {"i32", gv_i32(std::numeric_limits<int32_t>::min())},
      {"u64", gv_u64(std::numeric_limits<uint64_t>::max())},
      {"u64.small", gv_u64(1234567890123ull)},
      {"i64", gv_i64(std::numeric_limits<int64_t>::min())},
      {"f32", gv_f32(-1.5e-7f)},
      {"f64", gv_f64(2.718281828459045)},
      {"bool.t", gv_bool(true)},
      {"bool.f", gv_bool(false)},
      {"str", gv_str("héllo\nworld")},
      {"str.empty", gv_str("")},
      {"str.nul", gv_str(std::string("a\0b", 3))},
      {"arr.u8", gv_array(GgufType::kU8, {gv_u8(1), gv_u8(2), gv_u8(255)})},
      {"arr.i8", gv_array(GgufType::kI8, {gv_i8(-1), gv_i8(127)})},
      {"arr.u16", gv_array(GgufType::kU16, {gv_u16(7)})},
      {"arr.i16", gv_array(GgufType::kI16, {gv_i16(-7), gv_i16(8)})},
      {"arr.u32", gv_array(GgufType::kU32, {gv_u32(1), gv_u32(4000000000u)})},
      {"arr.i32", gv_array(GgufType::kI32, {gv_i32(-5), gv_i32(0), gv_i32(5)})},
      {"arr.u64", gv_array(GgufType::kU64, {gv_u64(9)})},
      {"arr.i64", gv_array(GgufType::kI64, {gv_i64(-9), gv_i64(1ll << 40)})},
      {"arr.f32", gv_array(GgufType::kF32, {gv_f32(0.25f), gv_f32(-3.0f), gv_f32(1e30f)})},
      {"arr.f64", gv_array(GgufType::kF64, {gv_f64(0.1), gv_f64(-1e30)})},
      {"arr.bool", gv_array(GgufType::kBool, {gv_bool(true), gv_bool(false)})},
      {"arr.str", gv_array(GgufType::kString, {gv_str("a"), gv_str(""), gv_str("ccc")})},
      {"arr.empty", gv_array(GgufType::kI32, {})},
      {"arr.nested",
       gv_array(GgufType::kArray, {gv_array(GgufType::kI32, {gv_i32(1), gv_i32(2)}),
                                   gv_array(GgufType::kString, {gv_str("x")}), gv_array(GgufType::kU8, {})})},
  };
}

std::unique_ptr<GgufFile> open_ok(const std::string& image, const std::string& name = "mem.gguf") {
  auto f = GgufFile::open_from_memory(image.data(), image.size(), name);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  return f.ok() ? std::move(f).value() : nullptr;
}

Status open_error(const std::string& image, const std::string& name = "mem.gguf") {
  auto f = GgufFile::open_from_memory(image.data(), image.size(), name);
  return f.status();
}

class GgufVersionTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufVersionTest, EveryValueTypeReadsBackExactly) {
  GgufWriter w(GetParam());
  const auto kvs = all_value_types();
  for (const auto& [k, v] : kvs) w.add(k, v);
  const std::string image = w.build();
  auto f = open_ok(image);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->version(), GetParam());
  std::vector<std::string> want_keys;
  for (const auto& [k, v] : kvs) {
    want_keys.push_back(k);
    ASSERT_TRUE(f->has(k));
    ASSERT_EQ(f->type_of(k), v.type) << k;
    auto got = f->get_value(k);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_TRUE(gguf_equal(*got, v)) << k << ": got " << gguf_describe(*got) << ", wrote " << gguf_describe(v);
  }
  EXPECT_EQ(f->keys(), want_keys);
  EXPECT_FALSE(f->has("absent"));
  EXPECT_TRUE(f->tensors().empty());
}

TEST_P(GgufVersionTest, TypedGettersConvertWhereDocumented) {
  GgufWriter w(GetParam());
  for (const auto& [k, v] : all_value_types()) w.add(k, v);
  const std::string image = w.build();
  auto f = open_ok(image);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->get_int("u8"), 255);
  EXPECT_EQ(*f->get_int("i8"), -128);
  EXPECT_EQ(*f->get_int("u16"), 65535);
  EXPECT_EQ(*f->get_int("i16"), -32768);
  EXPECT_EQ(*f->get_int("u32"), 4294967295ll);
  EXPECT_EQ(*f->get_int("i32"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(*f->get_int("u64.small"), 1234567890123ll);
  EXPECT_EQ(*f->get_int("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*f->get_int("bool.t"), 1);
  EXPECT_EQ(f->get_int("u64").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(*f->get_float("f32"), static_cast<double>(-1.5e-7f));
  EXPECT_EQ(*f->get_float("f64"), 2.718281828459045);
  EXPECT_EQ(*f->get_float("i16"), -32768.0);
  EXPECT_EQ(*f->get_float("u32"), 4294967295.0);
  EXPECT_EQ(*f->get_bool("bool.t"), true);
  EXPECT_EQ(*f->get_bool("bool.f"), false);
  EXPECT_EQ(*f->get_string("str"), "héllo\nworld");
  EXPECT_EQ(*f->get_string("str.nul"), std::string("a\0b", 3));
  EXPECT_EQ(*f->get_string_array("arr.str"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(*f->get_int_array("arr.u8"), (std::vector<int64_t>{1, 2, 255}));
  EXPECT_EQ(*f->get_int_array("arr.i8"), (std::vector<int64_t>{-1, 127}));
  EXPECT_EQ(*f->get_int_array("arr.i16"), (std::vector<int64_t>{-7, 8}));
  EXPECT_EQ(*f->get_int_array("arr.u32"), (std::vector<int64_t>{1, 4000000000ll}));
  EXPECT_EQ(*f->get_int_array("arr.i32"), (std::vector<int64_t>{-5, 0, 5}));
  EXPECT_EQ(*f->get_int_array("arr.i64"), (std::vector<int64_t>{-9, 1ll << 40}));
  EXPECT_EQ(*f->get_int_array("arr.bool"), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(*f->get_int_array("arr.empty"), std::vector<int64_t>{});
  EXPECT_EQ(*f->get_float_array("arr.f32"), (std::vector<float>{0.25f, -3.0f, 1e30f}));
  EXPECT_EQ(*f->get_float_array("arr.f64"), (std::vector<float>{0.1f, -1e30f}));
  EXPECT_EQ(*f->get_float_array("arr.i32"), (std::vector<float>{-5.0f, 0.0f, 5.0f}));
}

INSTANTIATE_TEST_SUITE_P(V2AndV3, GgufVersionTest, ::testing::Values(2u, 3u));

TEST(GgufFile, MissingKeyAndWrongTypeMessages) {
  GgufWriter w;
  w.add("general.name", gv_str("tiny"));
  w.add("arr.str", gv_array(GgufType::kString, {gv_str("a")}));
  const std::string image = w.build();
  auto f = open_ok(image, "/models/tiny.gguf");
  ASSERT_TRUE(f);
  Status st = f->get_int("llama.block_count").status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "gguf '/models/tiny.gguf': metadata key 'llama.block_count' not found");
  st = f->get_int("general.name").status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "gguf '/models/tiny.gguf': metadata key 'general.name' is string, wanted an integer");
  st = f->get_int_array("arr.str").status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "gguf '/models/tiny.gguf': metadata key 'arr.str' is array of string, wanted array of integers");
  EXPECT_EQ(f->get_float("general.name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->get_bool("general.name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->get_string("arr.str").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->get_string_array("general.name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->get_float_array("arr.str").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->get_value("nope").status().code(), StatusCode::kNotFound);
}

struct TensorCase {
  std::string name;
  uint32_t ggml;
  DType dtype;
  std::vector<uint64_t> ne;
};

size_t nbytes_of(DType t, const std::vector<uint64_t>& ne) {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  return row_bytes(t, static_cast<int64_t>(n));
}

void check_tensors(uint32_t alignment) {
  const std::vector<TensorCase> cases = {
      {"f32.1d", kGgmlF32, DType::kF32, {7}},
      {"f16.2d", kGgmlF16, DType::kF16, {5, 3}},
      {"bf16.3d", kGgmlBF16, DType::kBF16, {4, 3, 2}},
      {"q8_0.4d", kGgmlQ8_0, DType::kQ8_0, {64, 2, 3, 2}},
      {"q4_0", kGgmlQ4_0, DType::kQ4_0, {32, 5}},
      {"q4_1", kGgmlQ4_1, DType::kQ4_1, {96, 2}},
      {"q4_k", kGgmlQ4_K, DType::kQ4_K, {256, 3}},
      {"q6_k", kGgmlQ6_K, DType::kQ6_K, {512, 1}},
      {"empty", kGgmlF32, DType::kF32, {0, 4}},
      {"scalar", kGgmlF32, DType::kF32, {}},
  };
  GgufWriter w;
  if (alignment != GgufFile::kDefaultAlignment) w.set_alignment(alignment);
  w.add("general.architecture", gv_str("llama"));
  std::vector<std::string> payloads;
  for (size_t i = 0; i < cases.size(); ++i) {
    payloads.push_back(random_bytes(nbytes_of(cases[i].dtype, cases[i].ne), 100 + i));
    w.add_tensor(cases[i].name, cases[i].ggml, cases[i].ne, payloads.back());
  }
  const std::string image = w.build();
  auto f = open_ok(image);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->alignment(), alignment);
  EXPECT_EQ(f->data_offset(), w.data_offset());
  EXPECT_EQ(f->data_offset() % alignment, 0u);
  ASSERT_EQ(f->tensors().size(), cases.size());
  const auto* base = reinterpret_cast<const uint8_t*>(image.data());
  for (size_t i = 0; i < cases.size(); ++i) {
    const TensorView& t = f->tensors()[i];
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(t.name, cases[i].name);
    EXPECT_EQ(t.dtype, cases[i].dtype);
    std::vector<int64_t> want_shape(cases[i].ne.rbegin(), cases[i].ne.rend());
    EXPECT_EQ(t.shape, want_shape);
    EXPECT_EQ(t.nbytes, payloads[i].size());
    const auto* p = static_cast<const uint8_t*>(t.data);
    EXPECT_EQ(p, base + w.data_offset() + w.tensor_offsets()[i]) << "not zero-copy or wrong offset";
    EXPECT_EQ(static_cast<size_t>(p - base) % alignment, 0u);
    EXPECT_EQ(std::memcmp(p, payloads[i].data(), payloads[i].size()), 0);
    EXPECT_EQ(f->find_tensor(cases[i].name), &t);
  }
  EXPECT_EQ(f->find_tensor("absent"), nullptr);
  EXPECT_EQ(f->find_tensor("q4_1")->shape_string(), "[2, 96]");
}

TEST(GgufFile, TensorsOfEveryLoadedTypeWithDefaultAlignment) { check_tensors(32); }
TEST(GgufFile, TensorsWithCustomAlignment) { check_tensors(64); }
TEST(GgufFile, TensorsWithSmallAlignment) { check_tensors(8); }

TEST(GgufFile, OpensFromDiskAndReportsMissingFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  GgufWriter w;
  w.add("k", gv_u32(7));
  w.add_tensor("t", kGgmlF32, {4}, random_bytes(16, 1));
  const std::string path = dir.write("tiny.gguf", w.build());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ((*f)->path(), path);
  EXPECT_EQ(*(*f)->get_int("k"), 7);
  ASSERT_EQ((*f)->tensors().size(), 1u);
  EXPECT_EQ(std::memcmp((*f)->tensors()[0].data, random_bytes(16, 1).data(), 16), 0);

  auto missing = GgufFile::open(dir.path() + "/absent.gguf");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("absent.gguf"), std::string::npos);
  EXPECT_FALSE(GgufFile::open(dir.path()).ok());  // a directory
}

TEST(GgufFile, RejectsOtherVersionsAndFormats) {
  GgufWriter v1(1);
  Status st = open_error(v1.build());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_NE(st.message().find("GGUF version 1"), std::string::npos) << st.message();
  GgufWriter v4(4);
  st = open_error(v4.build());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_NE(st.message().find("version 4"), std::string::npos) << st.message();
  GgufWriter big_endian(0x03000000u);
  st = open_error(big_endian.build());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_NE(st.message().find("big-endian"), std::string::npos) << st.message();

  st = open_error("GGML\3\0\0\0");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "gguf 'mem.gguf': not a GGUF file: it starts with bytes 47 47 4d 4c, not 'GGUF'");
  st = open_error("");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "gguf 'mem.gguf': not a GGUF file: it is only 0 bytes long");
}

TEST(GgufFile, SplitPartsAreRefusedWithAHint) {
  GgufWriter part;
  part.add("split.no", gv_u16(0));
  part.add("split.count", gv_u16(3));
  const Status st = open_error(part.build());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_NE(st.message().find("one part of a 3-file split GGUF"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("llama-gguf-split --merge"), std::string::npos) << st.message();
  GgufWriter whole;
  whole.add("split.count", gv_u16(1));
  EXPECT_TRUE(open_error(whole.build()).ok());
}

TEST(GgufFile, UnloadableTensorTypeIsNamed) {
  GgufWriter w;
  w.add_tensor("blk.0.attn_k.weight", kGgmlQ2_K, {256, 2}, random_bytes(2 * 84, 3));
  const Status st = open_error(w.build());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_NE(st.message().find("tensor 'blk.0.attn_k.weight' has ggml type 10 (Q2_K)"), std::string::npos)
      << st.message();
  GgufWriter w2;
  w2.add_tensor("weird", 999, {4}, random_bytes(4, 3));
  EXPECT_NE(open_error(w2.build()).message().find("tensor 'weird' has ggml type 999"), std::string::npos);
}

TEST(GgufFile, TruncatedDataSectionNamesTheTensor) {
  GgufWriter w;
  w.add_tensor("token_embd.weight", kGgmlF32, {64, 4}, random_bytes(1024, 1));
  // 1,179,648 bytes: the size the conventions' example message quotes.
  w.add_tensor("blk.3.attn_q.weight", kGgmlF32, {1024, 288}, random_bytes(1179648, 2));
  std::string image = w.build();
  const size_t at = w.data_offset() + w.tensor_offsets()[1];
  ASSERT_EQ(at, w.data_offset() + 1024);
  image.resize(at + 5000);
  const Status st = open_error(image, "/m/x.gguf");
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  const std::string want =
      fmt::format("gguf '/m/x.gguf': model file truncated: tensor 'blk.3.attn_q.weight' needs 1,179,648 bytes at "
                  "offset {}, file has {}",
                  grouped(at), grouped(at + 5000));
  EXPECT_EQ(st.message().substr(0, want.size()), want) << st.message();
  EXPECT_NE(st.message().find("fetch or convert the file again"), std::string::npos);
}

TEST(GgufFile, RejectsMalformedTensorInfos) {
  {  // duplicate names
    GgufWriter w;
    w.add_tensor("a", kGgmlF32, {4}, random_bytes(16, 1));
    w.add_tensor("a", kGgmlF32, {4}, random_bytes(16, 2));
    const Status st = open_error(w.build());
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("tensor 'a' appears twice"), std::string::npos) << st.message();
  }
  {  // duplicate keys
    GgufWriter w;
    w.add("k", gv_u8(1));
    w.add("k", gv_u8(2));
    const Status st = open_error(w.build());
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("('k'): key appears twice"), std::string::npos) << st.message();
  }
  {  // five dimensions
    GgufWriter w;
    w.add_tensor("t5", kGgmlF32, {1, 1, 1, 1, 1}, random_bytes(4, 1));
    EXPECT_NE(open_error(w.build()).message().find("tensor 't5' has 5 dimensions"), std::string::npos);
  }
  {  // row not a multiple of the block
    GgufWriter w;
    w.add_tensor("q", kGgmlQ8_0, {48, 2}, random_bytes(68, 1));
    const Status st = open_error(w.build());
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("tensor 'q' has rows of 48 elements, not a multiple of the Q8_0 block size 32"),
              std::string::npos)
        << st.message();
  }
  {  // element count overflow
    GgufWriter w;
    w.add_tensor("huge", kGgmlF32, {1ull << 32, 1ull << 32}, "");
    EXPECT_NE(open_error(w.build()).message().find("tensor 'huge' has dimensions whose element count overflows"),
              std::string::npos);
  }
  {  // byte size beyond the file (no overflow): truncation message
    GgufWriter w;
    w.add_tensor("big", kGgmlF32, {1ull << 40}, "");
    EXPECT_NE(open_error(w.build()).message().find("tensor 'big' needs 4,398,046,511,104 bytes"), std::string::npos);
  }
}

TEST(GgufFile, RejectsBadAlignmentAndOffsets) {
  for (const GgufValue& bad : {gv_u32(0), gv_u32(48), gv_u64(32)}) {
    GgufWriter w;
    w.add("general.alignment", bad);
    const Status st = open_error(w.build());
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << gguf_describe(bad);
    EXPECT_NE(st.message().find("general.alignment"), std::string::npos) << st.message();
  }
  GgufWriter w;
  w.add_tensor("a", kGgmlF32, {4}, random_bytes(16, 1));
  std::string image = w.build();
  // The offset field is the 8 bytes right before the data section's padding; make it 4.
  const size_t offset_field = image.find('a') + 1 + 4 + 8 + 4;
  const uint64_t misaligned = 4;
  std::memcpy(image.data() + offset_field, &misaligned, 8);
  const Status st = open_error(image);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("tensor 'a' data offset 4 is not a multiple of the alignment 32"), std::string::npos)
      << st.message();
}

TEST(GgufFile, HugeCountsAreRejectedBeforeAllocating) {
  GgufWriter w;
  w.add("arr", gv_array(GgufType::kString, {gv_str("x")}));
  std::string image = w.build();
  const uint64_t huge = 1ull << 60;
  // length_fields: [tensor count, kv count, key length, array count, string length]
  ASSERT_EQ(w.length_fields().size(), 5u);
  std::string bad = image;
  std::memcpy(bad.data() + w.length_fields()[3], &huge, 8);
  Status st = open_error(bad);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("array of 1,152,921,504,606,846,976 string values"), std::string::npos)
      << st.message();
  bad = image;
  std::memcpy(bad.data() + w.length_fields()[1], &huge, 8);
  st = open_error(bad);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("header claims 0 tensors and 1,152,921,504,606,846,976 metadata keys"),
            std::string::npos)
      << st.message();
}

TEST(GgufFile, DeeplyNestedArraysAreRejected) {
  GgufValue v = gv_array(GgufType::kU8, {});
  for (int depth = 1; depth < GgufMetadata::kMaxArrayDepth; ++depth) v = gv_array(GgufType::kArray, {v});
  GgufWriter ok;
  ok.add("nest", v);
  EXPECT_TRUE(open_error(ok.build()).ok());
  GgufWriter too_deep;
  too_deep.add("nest", gv_array(GgufType::kArray, {v}));
  const Status st = open_error(too_deep.build());
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("nested more than 8 deep"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tandem::model
