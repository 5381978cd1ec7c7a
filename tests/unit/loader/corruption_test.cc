// Hostile input for both readers: every truncation of a small valid file, random byte flips,
// huge lengths, random garbage, empty files. Each must end in a non-OK Status (or, for flips
// that happen to keep the file valid, in views that stay inside the image); none may crash,
// read out of bounds (run under ASan) or allocate absurd amounts (alloc_guard).
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "tests/unit/loader/alloc_guard.h"
#include "tests/unit/loader/gguf_writer.h"
#include "tests/unit/loader/safetensors_writer.h"
#include "tests/unit/loader/temp_dir.h"
#include "worker/model/loader/gguf_file.h"
#include "worker/model/loader/safetensors_file.h"

namespace tandem::model {
namespace {

using namespace testing;

// Any allocation beyond this while parsing a few-KB image is a length taken on trust.
constexpr size_t kAllocLimit = 1 << 20;

std::string tiny_gguf(GgufWriter* w) {
  w->add("general.architecture", gv_str("llama"));
  w->add("llama.block_count", gv_u32(2));
  w->add("f", gv_f32(0.5f));
  w->add("d", gv_f64(-2.0));
  w->add("b", gv_bool(true));
  w->add("i64", gv_i64(-3));
  w->add("tokens", gv_array(GgufType::kString, {gv_str("<s>"), gv_str("a"), gv_str("bc")}));
  w->add("scores", gv_array(GgufType::kF32, {gv_f32(0.0f), gv_f32(-1.0f), gv_f32(-2.0f)}));
  w->add("nested", gv_array(GgufType::kArray, {gv_array(GgufType::kI16, {gv_i16(1)}), gv_array(GgufType::kU8, {})}));
  w->add_tensor("tok", 8 /* Q8_0 */, {32, 2}, random_bytes(68, 1));
  w->add_tensor("norm", 0 /* F32 */, {5}, random_bytes(20, 2));
  w->add_tensor("w", 3 /* Q4_1 */, {64, 1}, random_bytes(40, 3));
  return w->build();
}

std::string tiny_safetensors() {
  return build_safetensors({{"a", "F32", {2, 2}, encode_floats({1, 2, 3, 4}, "F32")},
                            {"b", "BF16", {3}, encode_floats({1, 2, 3}, "BF16")},
                            {"c", "F16", {1}, encode_floats({5}, "F16")}},
                           {{"format", "pt"}});
}

bool inside(const TensorView& t, const std::string& image) {
  const auto* p = static_cast<const uint8_t*>(t.data);
  const auto* b = reinterpret_cast<const uint8_t*>(image.data());
  return p >= b && t.nbytes <= image.size() && p - b <= static_cast<ptrdiff_t>(image.size() - t.nbytes);
}

// Opens the image; when it opens, every getter must work or fail cleanly and every view must lie
// inside the image. Returns the open status.
Status exercise_gguf(const std::string& image) {
  auto f = GgufFile::open_from_memory(image.data(), image.size(), "mem.gguf");
  if (!f.ok()) return f.status();
  for (const std::string& k : (*f)->keys()) {
    (void)(*f)->get_value(k);
    (void)(*f)->get_int(k);
    (void)(*f)->get_float(k);
    (void)(*f)->get_bool(k);
    (void)(*f)->get_string(k);
    (void)(*f)->get_string_array(k);
    (void)(*f)->get_int_array(k);
    (void)(*f)->get_float_array(k);
  }
  for (const TensorView& t : (*f)->tensors()) {
    EXPECT_TRUE(inside(t, image)) << t.name;
    EXPECT_EQ((*f)->find_tensor(t.name), &t);
  }
  return Status::Ok();
}

Status exercise_safetensors(const std::string& image) {
  auto c = SafetensorsCheckpoint::open_from_memory(image.data(), image.size(), "mem.safetensors");
  if (!c.ok()) return c.status();
  for (const TensorView& t : (*c)->tensors()) {
    EXPECT_TRUE(inside(t, image)) << t.name;
    EXPECT_EQ(static_cast<size_t>(t.numel()) * dtype_info(t.dtype).block_bytes, t.nbytes) << t.name;
  }
  return Status::Ok();
}

void expect_clean_failure(const Status& st, const std::string& prefix, const std::string& what) {
  EXPECT_FALSE(st.ok()) << what << " opened";
  EXPECT_TRUE(st.code() == StatusCode::kDataLoss || st.code() == StatusCode::kInvalidArgument ||
              st.code() == StatusCode::kUnimplemented)
      << what << ": " << st.to_string();
  EXPECT_EQ(st.message().rfind(prefix, 0), 0u) << what << ": " << st.message();
}

TEST(GgufCorruption, EveryTruncationFails) {
  GgufWriter w;
  const std::string image = tiny_gguf(&w);
  ASSERT_TRUE(exercise_gguf(image).ok());
  reset_largest_allocation();
  for (size_t n = 0; n < image.size(); ++n) {
    // A fresh copy of exactly n bytes, so ASan sees any read past the end.
    const std::string prefix = image.substr(0, n);
    expect_clean_failure(exercise_gguf(prefix), "gguf 'mem.gguf': ", fmt::format("{}-byte prefix", n));
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
}

TEST(GgufCorruption, RandomByteFlipsNeverCrash) {
  GgufWriter w;
  const std::string image = tiny_gguf(&w);
  std::mt19937_64 rng(7);
  int opened = 0;
  reset_largest_allocation();
  for (int iter = 0; iter < 4000; ++iter) {
    std::string bad = image;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
    opened += exercise_gguf(bad).ok();
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
  // Most flips land in tensor data or string bytes and leave a valid file; some must not.
  EXPECT_GT(opened, 0);
  EXPECT_LT(opened, 4000);
}

TEST(GgufCorruption, HugeLengthsAreErrors) {
  GgufWriter w;
  const std::string image = tiny_gguf(&w);
  ASSERT_GT(w.length_fields().size(), 15u);
  reset_largest_allocation();
  for (size_t field : w.length_fields()) {
    for (uint64_t v : {uint64_t{1} << 60, uint64_t{1} << 63, ~uint64_t{0}, uint64_t{1} << 32,
                       static_cast<uint64_t>(image.size())}) {
      std::string bad = image;
      std::memcpy(bad.data() + field, &v, 8);
      const Status st = exercise_gguf(bad);
      EXPECT_EQ(st.code(), StatusCode::kDataLoss) << "field at " << field << " = " << v << ": " << st.to_string();
    }
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
}

TEST(GgufCorruption, GarbageAndEmptyFilesFail) {
  std::mt19937_64 rng(11);
  reset_largest_allocation();
  for (int iter = 0; iter < 600; ++iter) {
    std::string blob = random_bytes(rng() % 2048, rng());
    if (iter % 2 == 0) blob = std::string("GGUF\3\0\0\0", 8) + blob;  // past the magic check
    expect_clean_failure(exercise_gguf(blob), "gguf 'mem.gguf': ", fmt::format("garbage #{}", iter));
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
  TempDir dir;
  const std::string empty = dir.write("empty.gguf", "");
  auto f = GgufFile::open(empty);
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("only 0 bytes long"), std::string::npos);
}

TEST(SafetensorsCorruption, EveryTruncationFails) {
  const std::string image = tiny_safetensors();
  ASSERT_TRUE(exercise_safetensors(image).ok());
  reset_largest_allocation();
  for (size_t n = 0; n < image.size(); ++n) {
    const std::string prefix = image.substr(0, n);
    const Status st = exercise_safetensors(prefix);
    expect_clean_failure(st, "safetensors 'mem.safetensors': ", fmt::format("{}-byte prefix", n));
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.message();
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
}

TEST(SafetensorsCorruption, RandomByteFlipsNeverCrash) {
  const std::string image = tiny_safetensors();
  std::mt19937_64 rng(13);
  int opened = 0;
  reset_largest_allocation();
  for (int iter = 0; iter < 4000; ++iter) {
    std::string bad = image;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
    opened += exercise_safetensors(bad).ok();
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
  EXPECT_GT(opened, 0);
  EXPECT_LT(opened, 4000);
}

TEST(SafetensorsCorruption, HugeNumbersAreErrors) {
  const std::string data(16, '\0');
  const char* headers[] = {
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]}})",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551600,18446744073709551616]}})",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,1e400]}})",
      R"({"a":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,16]}})",
      R"({"a":{"dtype":"F32","shape":[9223372036854775807, 2],"data_offsets":[0,16]}})",
      R"({"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,0]}})",
  };
  reset_largest_allocation();
  for (const char* h : headers) {
    const Status st = exercise_safetensors(build_safetensors_raw(h, data));
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << h << ": " << st.to_string();
  }
  std::string image = tiny_safetensors();
  for (uint64_t n : {uint64_t{1} << 60, ~uint64_t{0}, uint64_t{1} << 32, static_cast<uint64_t>(image.size())}) {
    std::memcpy(image.data(), &n, 8);
    EXPECT_EQ(exercise_safetensors(image).code(), StatusCode::kDataLoss) << n;
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
}

TEST(SafetensorsCorruption, GarbageAndEmptyFilesFail) {
  std::mt19937_64 rng(17);
  reset_largest_allocation();
  for (int iter = 0; iter < 600; ++iter) {
    std::string blob = random_bytes(rng() % 2048, rng());
    if (iter % 2 == 0 && blob.size() >= 8) {  // a plausible header length, garbage JSON
      const uint64_t n = rng() % (blob.size() - 7);
      std::memcpy(blob.data(), &n, 8);
    }
    const Status st = exercise_safetensors(blob);
    expect_clean_failure(st, "safetensors 'mem.safetensors': ", fmt::format("garbage #{}", iter));
  }
  EXPECT_LT(largest_allocation(), kAllocLimit);
  TempDir dir;
  auto c = SafetensorsCheckpoint::open(dir.write("model.safetensors", ""));
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tandem::model
