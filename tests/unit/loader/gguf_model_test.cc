// The bundled default model (SmolLM2-135M-Instruct Q4_1) through GgufFile. Expected values were
// read independently with gguf-py's GGUFReader. Fails (does not skip) when the model is missing.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "common/mmap_file.h"
#include "tests/support/test_paths.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::model {
namespace {

std::unique_ptr<GgufFile> open_model() {
  const std::string path = tandem::testing::default_model_path();
  auto f = GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.status().to_string() << "\nfetch the default model with scripts/fetch_model.sh";
  return f.ok() ? std::move(f).value() : nullptr;
}

TEST(GgufModel, HeaderMetadataAndTensors) {
  auto f = open_model();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->tensors().size(), 272u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset(), 1785664u);
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_int("llama.block_count"), 30);
  EXPECT_EQ(*f->get_int("llama.embedding_length"), 576);
  EXPECT_EQ(*f->get_int("llama.feed_forward_length"), 1536);
  EXPECT_EQ(*f->get_int("llama.attention.head_count"), 9);
  EXPECT_EQ(*f->get_int("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(*f->get_int("llama.context_length"), 8192);
  EXPECT_EQ(*f->get_float("llama.rope.freq_base"), 100000.0);
  EXPECT_FLOAT_EQ(static_cast<float>(*f->get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(*f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*f->get_string("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(*f->get_bool("tokenizer.ggml.add_bos_token"), false);
  EXPECT_EQ(*f->get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(*f->get_int("tokenizer.ggml.eos_token_id"), 2);

  auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
  ASSERT_EQ(tokens->size(), 49152u);
  EXPECT_EQ(tokens->front(), "<|endoftext|>");
  EXPECT_EQ(tokens->back(), "ectable");
  auto merges = f->get_string_array("tokenizer.ggml.merges");
  ASSERT_TRUE(merges.ok());
  ASSERT_EQ(merges->size(), 48900u);
  EXPECT_EQ(merges->front(), "\xc4\xa0 t");
  auto types = f->get_int_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.ok());
  ASSERT_EQ(types->size(), 49152u);
  EXPECT_EQ((*types)[0], 3);
  EXPECT_EQ((*types)[17], 1);
  auto tmpl = f->get_string("tokenizer.chat_template");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->size(), 368u);
  EXPECT_EQ(tmpl->rfind("{% for message in messages %}", 0), 0u);

  const TensorView* embd = f->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dtype, DType::kQ8_0);
  EXPECT_EQ(embd->shape, (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(embd->nbytes, 30081024u);
  const TensorView* down = f->find_tensor("blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->dtype, DType::kQ4_1);
  EXPECT_EQ(down->shape, (std::vector<int64_t>{576, 1536}));
  EXPECT_EQ(down->nbytes, 552960u);
  EXPECT_EQ(f->find_tensor("output.weight"), nullptr);  // tied embeddings

  int f32 = 0, q4_1 = 0, q8_0 = 0;
  for (const TensorView& t : f->tensors()) {
    f32 += t.dtype == DType::kF32;
    q4_1 += t.dtype == DType::kQ4_1;
    q8_0 += t.dtype == DType::kQ8_0;
  }
  EXPECT_EQ(f32, 61);
  EXPECT_EQ(q4_1, 210);
  EXPECT_EQ(q8_0, 1);
}

TEST(GgufModel, TensorDataPointsIntoTheMapAtTheRightPlace) {
  auto f = open_model();
  ASSERT_TRUE(f);
  // token_embd.weight is the first tensor, at relative offset 0 (gguf-py agrees).
  const auto* base = static_cast<const uint8_t*>(f->find_tensor("token_embd.weight")->data) - f->data_offset();
  const auto* end = base + f->file_size();
  EXPECT_EQ(f->file_size(), std::filesystem::file_size(f->path()));
  for (const TensorView& t : f->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    EXPECT_GE(p, base + f->data_offset()) << t.name;
    EXPECT_LE(p + t.nbytes, end) << t.name;
    EXPECT_EQ(static_cast<size_t>(p - base) % 32, 0u) << t.name;
  }
  // First block of token_embd (Q8_0: f16 scale, 32 int8), as gguf-py reads it.
  static const uint8_t kFirstBlock[] = {0x32, 0x19, 0xd6, 0x0d, 0x13, 0xf7, 0xe5, 0xee, 0x08, 0xd0, 0x2a, 0xa8,
                                        0x01, 0xde, 0x56, 0x81, 0x86, 0x08, 0xfd, 0x21, 0xdb, 0xee, 0x10, 0x4f,
                                        0xe8, 0x1e, 0xfa, 0xf9, 0xe2, 0x11, 0x28, 0x39, 0x1f, 0xb1};
  EXPECT_EQ(std::memcmp(f->find_tensor("token_embd.weight")->data, kFirstBlock, sizeof(kFirstBlock)), 0);
  const TensorView* norm = f->find_tensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(static_cast<const uint8_t*>(norm->data) - base, 31866688);
  const float* w = static_cast<const float*>(norm->data);
  EXPECT_EQ(w[0], 0.01397705078125f);
  EXPECT_EQ(w[1], 0.0238037109375f);
  EXPECT_EQ(w[2], -0.019775390625f);
  EXPECT_EQ(w[3], -0.0302734375f);
}

// Prefixes of the real file (a sample of cut points) must all fail; cuts inside the data section
// must name the first tensor that crosses the cut.
TEST(GgufModel, TruncatedPrefixesFailNamingTheCutTensor) {
  auto f = open_model();
  ASSERT_TRUE(f);
  auto map = MmapFile::open(f->path());
  ASSERT_TRUE(map.ok());
  const size_t size = map->size();
  const auto* base = static_cast<const uint8_t*>(f->find_tensor("token_embd.weight")->data) - f->data_offset();

  std::vector<size_t> cuts;
  for (size_t c = 0; c < 4096; c += 7) cuts.push_back(c);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 150; ++i) cuts.push_back(rng() % size);
  for (int i = 0; i < 10; ++i) cuts.push_back(f->data_offset() - 1 - rng() % 4096);  // in the tensor infos
  cuts.push_back(size - 1);
  const TensorView* q3 = f->find_tensor("blk.3.attn_q.weight");
  const size_t q3_at = static_cast<size_t>(static_cast<const uint8_t*>(q3->data) - base);
  cuts.push_back(q3_at + 100);

  for (size_t cut : cuts) {
    auto g = GgufFile::open_from_memory(map->data(), cut, "cut.gguf");
    ASSERT_FALSE(g.ok()) << "a " << cut << "-byte prefix opened";
    const std::string msg = g.status().message();
    if (cut < 4) {
      EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument) << msg;
      continue;
    }
    EXPECT_EQ(g.status().code(), StatusCode::kDataLoss) << cut << ": " << msg;
    if (cut < f->data_offset()) continue;
    const TensorView* first_cut = nullptr;
    for (const TensorView& t : f->tensors()) {
      if (static_cast<size_t>(static_cast<const uint8_t*>(t.data) - base) + t.nbytes > cut) {
        first_cut = &t;
        break;
      }
    }
    ASSERT_NE(first_cut, nullptr);
    EXPECT_NE(msg.find("model file truncated: tensor '" + first_cut->name + "' needs"), std::string::npos)
        << cut << ": " << msg;
  }
  auto g = GgufFile::open_from_memory(map->data(), q3_at + 100, "cut.gguf");
  const std::string want = fmt::format(
      "gguf 'cut.gguf': model file truncated: tensor 'blk.3.attn_q.weight' needs 207,360 bytes at offset 84,784,960, "
      "file has {}",
      grouped(q3_at + 100));
  EXPECT_EQ(g.status().message().substr(0, want.size()), want);
}

}  // namespace
}  // namespace tandem::model
