// SafetensorsCheckpoint over files written by tests/unit/loader/safetensors_writer: single files,
// directories, sharded indexes, and the errors a user meets with a broken or partial download.
#include "worker/model/loader/safetensors_file.h"

#include <cstring>

#include <gtest/gtest.h>

#include "common/dtype.h"
#include "tests/unit/loader/safetensors_writer.h"
#include "tests/unit/loader/temp_dir.h"
#include "worker/model/loader/byte_reader.h"

namespace tandem::model {
namespace {

using testing::build_index_json;
using testing::build_safetensors;
using testing::build_safetensors_raw;
using testing::encode_floats;
using testing::StTensor;
using testing::TempDir;

std::vector<StTensor> sample_tensors() {
  return {
      {"model.embed_tokens.weight", "BF16", {3, 4}, encode_floats({1, -2, 3.5f, 0, 1e-3f, 7, 8, 9, -10, 11, 12, 0.25f}, "BF16")},
      {"model.norm.weight", "F32", {4}, encode_floats({1.0f, 0.5f, -0.25f, 3.0f}, "F32")},
      {"lm_head.weight", "F16", {2, 3}, encode_floats({0.1f, 0.2f, -0.3f, 65504.0f, 1e-4f, 0.0f}, "F16")},
      {"scalar", "F32", {}, encode_floats({42.0f}, "F32")},
      {"empty", "F16", {0, 5}, ""},
  };
}

void expect_matches(const SafetensorsCheckpoint& c, const std::vector<StTensor>& want) {
  for (const StTensor& w : want) {
    SCOPED_TRACE(w.name);
    const TensorView* t = c.find_tensor(w.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->name, w.name);
    EXPECT_EQ(dtype_name(t->dtype), w.dtype);
    EXPECT_EQ(t->shape, w.shape);
    ASSERT_EQ(t->nbytes, w.data.size());
    if (!w.data.empty()) {
      EXPECT_EQ(std::memcmp(t->data, w.data.data(), w.data.size()), 0);
    }
  }
}

TEST(Safetensors, SingleFileReadsBackExactly) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const auto tensors = sample_tensors();
  const std::string path = dir.write("one.safetensors", build_safetensors(tensors, {{"format", "pt"}}));
  auto c = SafetensorsCheckpoint::open(path);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ((*c)->path(), path);
  ASSERT_EQ((*c)->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_EQ((*c)->tensors()[i].name, tensors[i].name);  // header order
  expect_matches(**c, tensors);
  EXPECT_EQ((*c)->find_tensor("absent"), nullptr);
  const float* norm = static_cast<const float*>((*c)->find_tensor("model.norm.weight")->data);
  EXPECT_EQ(norm[2], -0.25f);
  const auto* embd = static_cast<const uint16_t*>((*c)->find_tensor("model.embed_tokens.weight")->data);
  EXPECT_EQ(bf16_to_fp32(embd[2]), 3.5f);
  EXPECT_EQ((*c)->find_tensor("scalar")->numel(), 1);
}

TEST(Safetensors, DirectoryWithModelSafetensors) {
  TempDir dir;
  const auto tensors = sample_tensors();
  dir.write("model.safetensors", build_safetensors(tensors));
  dir.write("config.json", "{}");
  auto c = SafetensorsCheckpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  expect_matches(**c, tensors);
  ASSERT_EQ((*c)->shard_paths().size(), 1u);
}

TEST(Safetensors, DirectoryOfLooseFilesLoadsAllInNameOrder) {
  TempDir dir;
  auto all = sample_tensors();
  dir.write("b.safetensors", build_safetensors({all[0], all[1]}));
  dir.write("a.safetensors", build_safetensors({all[2]}));
  auto c = SafetensorsCheckpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ((*c)->tensors().size(), 3u);
  EXPECT_EQ((*c)->tensors()[0].name, "lm_head.weight");
  expect_matches(**c, {all[0], all[1], all[2]});
}

TEST(Safetensors, ShardedIndex) {
  TempDir dir;
  auto all = sample_tensors();
  dir.write("model-00001-of-00002.safetensors", build_safetensors({all[0], all[1]}));
  dir.write("model-00002-of-00002.safetensors", build_safetensors({all[2], all[3], all[4]}));
  const std::string index = dir.write(
      "model.safetensors.index.json",
      build_index_json({{all[0].name, "model-00001-of-00002.safetensors"},
                        {all[2].name, "model-00002-of-00002.safetensors"},
                        {all[1].name, "model-00001-of-00002.safetensors"},
                        {all[3].name, "model-00002-of-00002.safetensors"},
                        {all[4].name, "model-00002-of-00002.safetensors"}}));
  for (const std::string& path : {dir.path(), index}) {
    auto c = SafetensorsCheckpoint::open(path);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ((*c)->tensors().size(), all.size());
    expect_matches(**c, all);
    ASSERT_EQ((*c)->shard_paths().size(), 2u);
    EXPECT_EQ((*c)->shard_paths()[0], dir.path() + "/model-00001-of-00002.safetensors");
  }
}

TEST(Safetensors, UnsupportedDtypeNamesTensorAndDtype) {
  TempDir dir;
  const std::string path =
      dir.write("q.safetensors", build_safetensors({{"w", "F32", {1}, encode_floats({1}, "F32")},
                                                    {"model.layers.0.q.qweight", "I8", {2, 2}, "abcd"}}));
  auto c = SafetensorsCheckpoint::open(path);
  EXPECT_EQ(c.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(c.status().message().find(fmt::format(
                "safetensors '{}': tensor 'model.layers.0.q.qweight' has dtype I8, which Tandem does not load", path)),
            std::string::npos)
      << c.status().message();
  auto fp8 = build_safetensors({{"w8", "F8_E4M3", {4}, "abcd"}});
  EXPECT_NE(SafetensorsCheckpoint::open_from_memory(fp8.data(), fp8.size(), "m").status().message().find(
                "tensor 'w8' has dtype F8_E4M3"),
            std::string::npos);
  auto odd = build_safetensors({{"w", "Q4_K", {4}, "abcd"}});
  EXPECT_NE(SafetensorsCheckpoint::open_from_memory(odd.data(), odd.size(), "m").status().message().find(
                "has dtype Q4_K (unknown)"),
            std::string::npos);
}

TEST(Safetensors, MissingShardIsNotFoundAndNamed) {
  TempDir dir;
  auto all = sample_tensors();
  dir.write("model-00001-of-00002.safetensors", build_safetensors({all[0]}));
  dir.write("model.safetensors.index.json", build_index_json({{all[0].name, "model-00001-of-00002.safetensors"},
                                                               {all[1].name, "model-00002-of-00002.safetensors"},
                                                               {all[2].name, "model-00002-of-00002.safetensors"}}));
  auto c = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("shard 'model-00002-of-00002.safetensors' (holding 2 of the index's tensors) "
                                      "not found"),
            std::string::npos)
      << c.status().message();
}

TEST(Safetensors, IndexAndShardsMustAgree) {
  TempDir dir;
  auto all = sample_tensors();
  dir.write("s1.safetensors", build_safetensors({all[0]}));
  dir.write("s2.safetensors", build_safetensors({all[1]}));
  dir.write("model.safetensors.index.json",
            build_index_json({{all[0].name, "s1.safetensors"}, {all[1].name, "s1.safetensors"},
                              {"x", "s2.safetensors"}}));
  auto c = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(c.status().message().find("tensor 'model.norm.weight' is listed in shard 's1.safetensors' but that file "
                                      "does not contain it"),
            std::string::npos)
      << c.status().message();

  TempDir dup;
  dup.write("a.safetensors", build_safetensors({all[0], all[1]}));
  dup.write("b.safetensors", build_safetensors({all[1]}));
  c = SafetensorsCheckpoint::open(dup.path());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(c.status().message().find("tensor 'model.norm.weight' appears in both"), std::string::npos)
      << c.status().message();

  TempDir escape;
  escape.write("model.safetensors.index.json", build_index_json({{"w", "../../etc/passwd"}}));
  c = SafetensorsCheckpoint::open(escape.path());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(c.status().message().find("not a plain file name"), std::string::npos) << c.status().message();
}

TEST(Safetensors, MissingPathsAndEmptyDirectories) {
  TempDir dir;
  auto c = SafetensorsCheckpoint::open(dir.path() + "/nope");
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nope' not found"), std::string::npos);
  c = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("no model.safetensors, model.safetensors.index.json or *.safetensors files"),
            std::string::npos);
  const std::string empty = dir.write("empty.safetensors", "");
  c = SafetensorsCheckpoint::open(empty);
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(c.status().message(), fmt::format("safetensors '{}': file is 0 bytes, too short for the 8-byte header "
                                              "length; it is empty or truncated",
                                              empty));
}

Status open_mem(const std::string& image) {
  return SafetensorsCheckpoint::open_from_memory(image.data(), image.size(), "m.safetensors").status();
}

TEST(Safetensors, TruncatedDataNamesTheTensor) {
  const std::vector<StTensor> ts = {{"a", "F32", {4}, encode_floats({1, 2, 3, 4}, "F32")},
                                    {"model.layers.3.self_attn.q_proj.weight", "F32", {1024, 288},
                                     std::string(1179648, '\1')}};
  std::string image = build_safetensors(ts);
  const size_t data_start = image.size() - 16 - 1179648;
  image.resize(image.size() - 1000);
  const Status st = open_mem(image);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  const std::string want = fmt::format(
      "safetensors 'm.safetensors': model file truncated: tensor 'model.layers.3.self_attn.q_proj.weight' needs "
      "1,179,648 bytes at offset {}, file has {}",
      grouped(data_start + 16), grouped(image.size()));
  EXPECT_EQ(st.message().substr(0, want.size()), want) << st.message();
}

TEST(Safetensors, RejectsInconsistentHeaders) {
  const std::string four = encode_floats({1, 2, 3, 4}, "F32");
  struct Case {
    std::string header;
    std::string want;
  };
  const std::vector<Case> cases = {
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}})", "needs 16 bytes but its data_offsets [0, 12]"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       "tensors 'a' and 'b' overlap"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", "begin <= end"},
      {R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", "not a list of non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", "not a list of non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})",
       "not a list of non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}})", "overflows 64 bits"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", "two non-negative integers"},
      {R"({"a":{"shape":[4],"data_offsets":[0,16]}})", "lacks a string 'dtype'"},
      {R"({"a":[1,2]})", "entry 'a' is not a JSON object"},
      {R"({"__metadata__":"x"})", "__metadata__ is not a JSON object"},
      {R"([1,2,3])", "header is not a JSON object"},
      {R"({"a":{"dtype":"F32",)", "header is not valid JSON"},
      {std::string(100, '[') + std::string(100, ']'), "header is not valid JSON"},
  };
  for (const Case& c : cases) {
    const Status st = open_mem(build_safetensors_raw(c.header, four));
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << c.header;
    EXPECT_NE(st.message().find(c.want), std::string::npos) << c.header << "\n" << st.message();
  }
}

TEST(Safetensors, RejectsBadHeaderLengths) {
  std::string image = build_safetensors(sample_tensors());
  for (uint64_t n : {uint64_t{1} << 60, ~uint64_t{0}, uint64_t{100'000'001}}) {
    std::memcpy(image.data(), &n, 8);
    const Status st = open_mem(image);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("-byte limit"), std::string::npos) << st.message();
  }
  const uint64_t past = image.size();
  std::memcpy(image.data(), &past, 8);
  const Status st = open_mem(image);
  EXPECT_NE(st.message().find("runs past the end"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tandem::model
