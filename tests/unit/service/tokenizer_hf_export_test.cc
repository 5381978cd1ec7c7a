// The HF files the GetTokenizer bundle derives from a GGUF: loaded by Tandem's own tokenizer.json
// reader they must tokenize exactly like the GGUF does (the default model's "smollm" vocabulary and
// a synthetic "llama-bpe" one with add_bos), carry the GGUF's chat template and special tokens,
// and an unmapped pre-tokenizer must leave the bundle with tokenizer.gguf alone.
// (tests/e2e/test_smg_interop.py checks the same files with HF's own `tokenizers`.)
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/client/tokenizer_archive.h"
#include "gateway/text/tokenizer/byte_level.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "tests/support/test_paths.h"
#include "tests/unit/loader/gguf_writer.h"
#include "worker/model/loader/gguf_file.h"
#include "worker/service/tokenizer_bundle.h"
#include "worker/service/tokenizer_hf_export.h"

namespace tandem::service {
namespace {

namespace json = boost::json;
using model::testing::gv_array;
using model::testing::gv_bool;
using model::testing::gv_i32;
using model::testing::gv_str;
using model::testing::gv_u32;

const std::string& file_named(const NamedFiles& files, const std::string& name) {
  for (const auto& [n, data] : files) {
    if (n == name) return data;
  }
  static const std::string kNone;
  ADD_FAILURE() << "no " << name << " in the export";
  return kNone;
}

// Every text class the pre-tokenizers treat differently.
const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> texts = {
      "Hello world! The capital of France is Paris.",
      "def f(x):\n    return x ** 2  # square\n\n\tindent\ttabs",
      "numbers 1234567 and 3.14159, 2024-01-01, x1y22z333",
      "日本語のテキストと中文字符，还有한국어.",
      "emoji 🤖👍🏽 and 🇫🇷 flags",
      "   leading and   inner   runs of spaces   \n\n\n",
      "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n",
      "contractions: it's, we'll, they're, I'd, you've, she'S",
      "",
  };
  return texts;
}

TEST(TokenizerHfExport, DefaultModelExportTokenizesLikeTheGguf) {
  const std::string model_path = tandem::testing::default_model_path();
  ASSERT_TRUE(std::ifstream(model_path).good()) << "default model missing at " << model_path;
  auto gguf = model::GgufFile::open(model_path);
  ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
  auto files = export_hf_tokenizer(**gguf);
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  std::vector<std::string> names;
  for (const auto& f : *files) names.push_back(f.first);
  EXPECT_EQ(names, (std::vector<std::string>{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                             "generation_config.json"}));

  auto from_gguf = text::load_tokenizer_from_gguf(**gguf);
  ASSERT_TRUE(from_gguf.ok());
  auto from_hf = text::load_tokenizer_from_hf_json(file_named(*files, "tokenizer.json"),
                                                   file_named(*files, "tokenizer_config.json"), "export");
  ASSERT_TRUE(from_hf.ok()) << from_hf.status().to_string();
  EXPECT_EQ((*from_hf)->vocab_size(), 49152);
  for (const std::string& t : sample_texts()) {
    for (bool special : {false, true}) {
      const std::vector<int32_t> want = (*from_gguf)->encode(t, special);
      EXPECT_EQ((*from_hf)->encode(t, special), want) << "text: " << t;
      EXPECT_EQ((*from_hf)->decode(want, false), (*from_gguf)->decode(want, false));
      EXPECT_EQ((*from_hf)->decode(want, true), (*from_gguf)->decode(want, true));
    }
  }
  // Digits are split one by one ("smollm" = StarCoder's Digits + GPT-2 byte level).
  EXPECT_EQ((*from_hf)->encode("2024", false).size(), 4u);
  EXPECT_EQ((*from_hf)->chat_template(), (*from_gguf)->chat_template());
  EXPECT_EQ((*from_hf)->bos_token(), "<|im_start|>");
  EXPECT_EQ((*from_hf)->eos_token(), "<|im_end|>");
  EXPECT_FALSE((*from_hf)->add_bos());

  const json::object cfg = json::parse(file_named(*files, "tokenizer_config.json")).as_object();
  EXPECT_EQ(cfg.at("add_bos_token"), false);
  EXPECT_EQ(cfg.at("pad_token"), "<|im_end|>");
  EXPECT_EQ(cfg.at("unk_token"), "<|endoftext|>");
  EXPECT_EQ(cfg.at("model_max_length"), 8192);
  EXPECT_EQ(cfg.at("added_tokens_decoder").as_object().size(), 17u);  // the 17 control tokens
  const json::object gen = json::parse(file_named(*files, "generation_config.json")).as_object();
  EXPECT_EQ(gen.at("eos_token_id"), 2);
  EXPECT_EQ(gen.at("bos_token_id"), 1);
  const json::object stm = json::parse(file_named(*files, "special_tokens_map.json")).as_object();
  EXPECT_EQ(stm.at("eos_token"), "<|im_end|>");
  EXPECT_EQ(stm.at("additional_special_tokens").as_array().size(), 14u);  // 17 minus bos, eos/pad, unk
}

// A small byte-level vocabulary: the 256 byte spellings, merged tokens, a control BOS.
std::string synthetic_gguf(const std::string& pre, bool add_bos) {
  const text::ByteLevelAlphabet& bl = text::ByteLevelAlphabet::get();
  std::vector<model::GgufValue> tokens, types;
  auto add_token = [&](std::string t, int32_t type) {
    tokens.push_back(gv_str(std::move(t)));
    types.push_back(gv_i32(type));
  };
  for (int b = 0; b < 256; ++b) add_token(std::string(bl.spelling(static_cast<uint8_t>(b))), 1);
  const std::string sp(bl.spelling(' '));
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {sp, "w"}, {"o", "r"},
      {sp + "w", "or"}, {sp + "wor", "l"}, {sp + "worl", "d"}, {"1", "2"}, {"12", "3"}, {sp, sp}};
  std::vector<model::GgufValue> merge_values;
  for (const auto& [l, r] : merges) {
    add_token(l + r, 1);
    merge_values.push_back(gv_str(l + " " + r));
  }
  const int32_t bos = static_cast<int32_t>(tokens.size());
  add_token("<|begin_of_text|>", 3);
  add_token("<|eot_id|>", 3);
  add_token("<tool>", 4);  // user-defined: matched whole, not special
  model::testing::GgufWriter w;
  w.add("general.architecture", gv_str("llama"));
  w.add("llama.context_length", gv_u32(4096));
  w.add("tokenizer.ggml.model", gv_str("gpt2"));
  w.add("tokenizer.ggml.pre", gv_str(pre));
  w.add("tokenizer.ggml.tokens", gv_array(model::GgufType::kString, tokens));
  w.add("tokenizer.ggml.token_type", gv_array(model::GgufType::kI32, types));
  w.add("tokenizer.ggml.merges", gv_array(model::GgufType::kString, merge_values));
  w.add("tokenizer.ggml.bos_token_id", gv_u32(static_cast<uint32_t>(bos)));
  w.add("tokenizer.ggml.eos_token_id", gv_u32(static_cast<uint32_t>(bos + 1)));
  w.add("tokenizer.ggml.add_bos_token", gv_bool(add_bos));
  w.add("tokenizer.chat_template", gv_str("{% for m in messages %}{{ m['content'] }}{% endfor %}"));
  return w.build();
}

TEST(TokenizerHfExport, LlamaBpeWithBosMatchesTheGguf) {
  const std::string image = synthetic_gguf("llama-bpe", true);
  auto gguf = model::GgufFile::open_from_memory(image.data(), image.size(), "synthetic");
  ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
  auto files = export_hf_tokenizer(**gguf);
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  auto from_gguf = text::load_tokenizer_from_gguf(**gguf);
  ASSERT_TRUE(from_gguf.ok()) << from_gguf.status().to_string();
  auto from_hf = text::load_tokenizer_from_hf_json(file_named(*files, "tokenizer.json"),
                                                   file_named(*files, "tokenizer_config.json"), "export");
  ASSERT_TRUE(from_hf.ok()) << from_hf.status().to_string();
  std::vector<std::string> texts = sample_texts();
  texts.push_back("hello world 123456 <tool>x<|eot_id|>");
  for (const std::string& t : texts) {
    for (bool special : {false, true}) {
      EXPECT_EQ((*from_hf)->encode(t, special), (*from_gguf)->encode(t, special)) << "text: " << t;
    }
  }
  const std::vector<int32_t> ids = (*from_hf)->encode("hello world", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 256 + 12) << "add_bos_token: BOS first";
  EXPECT_EQ(ids.size(), 3u);  // BOS, "hello", " world"

  const json::object tj = json::parse(file_named(*files, "tokenizer.json")).as_object();
  EXPECT_EQ(tj.at("model").at("ignore_merges"), true);
  EXPECT_EQ(tj.at("added_tokens").as_array().size(), 3u);
  EXPECT_EQ(tj.at("added_tokens").as_array()[2].at("special"), false);
  const json::object gen = json::parse(file_named(*files, "generation_config.json")).as_object();
  EXPECT_EQ(gen.at("eos_token_id"), 256 + 13);
  const json::object cfg = json::parse(file_named(*files, "tokenizer_config.json")).as_object();
  EXPECT_EQ(cfg.at("add_bos_token"), true);
  EXPECT_EQ(cfg.at("model_max_length"), 4096);
  EXPECT_EQ(cfg.at("chat_template"), "{% for m in messages %}{{ m['content'] }}{% endfor %}");
}

TEST(TokenizerHfExport, UnmappedPreTokenizerShipsTheGgufAlone) {
  const std::string image = synthetic_gguf("chatglm-bpe", false);
  auto gguf = model::GgufFile::open_from_memory(image.data(), image.size(), "synthetic");
  ASSERT_TRUE(gguf.ok());
  auto files = export_hf_tokenizer(**gguf);
  ASSERT_EQ(files.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(files.status().message().find("'chatglm-bpe'"), std::string::npos) << files.status().message();
  EXPECT_NE(files.status().message().find("smollm"), std::string::npos) << "lists what is mapped";

  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("tandem-unmapped-{}.gguf", getpid());
  std::ofstream(path, std::ios::binary) << image;
  auto bundle = build_tokenizer_bundle(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(bundle.ok()) << bundle.status().to_string();
  EXPECT_EQ(bundle->files, std::vector<std::string>{std::string(kTokenizerGgufName)});
}

}  // namespace
}  // namespace tandem::service
