// IncrementalDetokenizer properties: every piece is complete UTF-8, and the pieces concatenate to
// decode(all ids) -- on random id sequences (specials, byte tokens, multi-byte characters split
// over tokens) for byte-level and SentencePiece vocabularies, loaded both ways.
#include <gtest/gtest.h>

#include <random>

#include "common/check.h"
#include "gateway/text/tokenizer/utf8.h"
#include "tests/support/test_paths.h"
#include "tests/unit/tokenizer/tokenizer_test_data.h"

namespace tandem::text::testing {
namespace {

struct Streamed {
  std::vector<std::string> pieces;
  std::string joined;
};

Streamed stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  Streamed s;
  IncrementalDetokenizer d(tok, skip);
  for (int32_t id : ids) {
    s.pieces.push_back(d.push(id));
    s.joined += s.pieces.back();
  }
  s.pieces.push_back(d.finish());
  s.joined += s.pieces.back();
  return s;
}

// Random sequences: uniform ids, low ids (specials, and SPM's byte tokens), out-of-range ids, and
// slices of real encodings cut anywhere.
std::vector<std::vector<int32_t>> random_sequences(const Tokenizer& tok, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> out;
  const int32_t n = tok.vocab_size();
  for (int i = 0; i < 300; ++i) {
    std::vector<int32_t> ids(rng() % 40);
    for (int32_t& id : ids) {
      const uint32_t r = rng() % 10;
      id = r < 4 ? static_cast<int32_t>(rng() % 300) : r < 9 ? static_cast<int32_t>(rng() % n) : n + 5;
    }
    out.push_back(std::move(ids));
  }
  const std::vector<std::string> texts = {"日本語のテキスト 🙂👨\u200d👩\u200d👧 naïve café", "Привет, мир! ١٢٣",
                                          "<|im_start|>user\n¿Qué tal? 🇯🇵<|im_end|>", "  spaces  and\ttabs\n"};
  for (int i = 0; i < 100; ++i) {
    const auto ids = tok.encode(texts[rng() % texts.size()], rng() % 2 == 0);
    const size_t a = rng() % ids.size();
    out.emplace_back(ids.begin() + a, ids.begin() + std::min(ids.size(), a + 1 + rng() % 10));
  }
  return out;
}

void check_properties(const Tokenizer& tok, uint32_t seed) {
  int checked = 0;
  for (const auto& ids : random_sequences(tok, seed)) {
    for (bool skip : {false, true}) {
      const Streamed s = stream(tok, ids, skip);
      ASSERT_EQ(s.joined, tok.decode(ids, skip)) << describe_ids(tok, ids) << " skip=" << skip;
      for (const std::string& p : s.pieces) ASSERT_TRUE(is_valid_utf8(p)) << describe_ids(tok, ids);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 800);
}

std::unique_ptr<Tokenizer> smollm2() {
  auto d = read_gguf_tokenizer(tandem::testing::default_model_path());
  CHECK(d.ok(), "{} (fetch the default model with scripts/fetch_model.sh)", d.status().to_string());
  return must_load_gguf(*d);
}

std::unique_ptr<Tokenizer> spm_gguf() {
  auto d = read_gguf_tokenizer(tokenizer_data_dir() + "/spm/spm.gguf");
  CHECK(d.ok(), "{}", d.status().to_string());
  return must_load_gguf(*d);
}

TEST(IncrementalDetokenizer, ByteLevelProperties) { check_properties(*smollm2(), 1); }
TEST(IncrementalDetokenizer, SpmGgufProperties) { check_properties(*spm_gguf(), 2); }
TEST(IncrementalDetokenizer, SpmLegacyJsonProperties) {
  check_properties(*must_load_hf(tokenizer_data_dir() + "/spm/legacy"), 3);
}
TEST(IncrementalDetokenizer, SpmMetaspaceJsonProperties) {
  check_properties(*must_load_hf(tokenizer_data_dir() + "/spm/metaspace"), 4);
}

TEST(IncrementalDetokenizer, CorpusStreamsBackToTheText) {
  auto tok = smollm2();
  int n = 0;
  for (const OracleCase& c : load_oracle("smollm2")) {
    if (!c.roundtrip) continue;
    ASSERT_EQ(stream(*tok, c.ids, false).joined, c.text) << c.name;
    ++n;
  }
  EXPECT_GT(n, 80);
}

TEST(IncrementalDetokenizer, HoldsASplitCharacterUntilComplete) {
  auto tok = smollm2();
  const std::vector<int32_t> ids = tok->encode("a🙂", false);
  ASSERT_GE(ids.size(), 3u) << "the emoji should take several byte-level tokens";
  const Streamed s = stream(*tok, ids, false);
  EXPECT_EQ(s.pieces[0], "a");
  for (size_t i = 1; i + 2 < s.pieces.size(); ++i) EXPECT_EQ(s.pieces[i], "") << "piece " << i;
  EXPECT_EQ(s.pieces[ids.size() - 1], "🙂");  // emitted by the token that completes it
  EXPECT_EQ(s.pieces.back(), "");
}

TEST(IncrementalDetokenizer, FinishFlushesAnIncompleteTailAsReplacement) {
  auto tok = smollm2();
  std::vector<int32_t> ids = tok->encode("🙂", false);
  ids.pop_back();  // the character never completes
  const Streamed s = stream(*tok, ids, false);
  EXPECT_EQ(s.joined, std::string(kReplacementChar));
  EXPECT_EQ(s.pieces.back(), std::string(kReplacementChar));
}

TEST(IncrementalDetokenizer, SpmSpacingMatchesDecode) {
  auto tok = spm_gguf();
  const std::vector<int32_t> ids = tok->encode("the world", true);  // <s> ▁the ▁world
  ASSERT_EQ(ids.front(), 1);
  const Streamed skip = stream(*tok, ids, true);
  EXPECT_EQ(skip.joined, "the world");
  EXPECT_EQ(skip.pieces[1], "the");  // the prefix space of the first word is dropped...
  const Streamed keep = stream(*tok, ids, false);
  EXPECT_EQ(keep.joined, "<s> the world");  // ...unless <s> is shown first (as HF decodes it)
}

TEST(IncrementalDetokenizer, SpmByteFallbackRunIsHeldUntilItEnds) {
  auto tok = spm_gguf();
  const std::vector<int32_t> ids = tok->encode("x ꙮ y", false);  // U+A66E is not in the vocabulary
  auto is_byte = [&](int32_t id) { return tok->id_to_token(id).starts_with("<0x"); };
  size_t first = 0;
  while (first < ids.size() && !is_byte(ids[first])) ++first;
  ASSERT_LT(first, ids.size()) << "expected byte-fallback tokens in " << describe_ids(*tok, ids);
  size_t after = first;
  while (after < ids.size() && is_byte(ids[after])) ++after;
  ASSERT_EQ(after - first, 3u);
  ASSERT_LT(after, ids.size());
  const Streamed s = stream(*tok, ids, true);
  // A byte run decodes as a whole (one U+FFFD per byte if it turns out invalid), so nothing of it
  // is shown before the next ordinary token arrives.
  for (size_t i = first; i < after; ++i) EXPECT_EQ(s.pieces[i], "") << "piece " << i;
  EXPECT_TRUE(s.pieces[after].starts_with("ꙮ")) << s.pieces[after];
  EXPECT_EQ(s.joined, "x ꙮ y");
}

// A Tokenizer without its own stream gets the generic re-decoding one.
class LetterTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    return std::vector<int32_t>(text.begin(), text.end());
  }
  std::string decode(std::span<const int32_t> ids, bool) const override {
    std::string bytes(ids.begin(), ids.end());
    std::string out;
    append_utf8_lossy(bytes, &out);
    return out;
  }
  int32_t vocab_size() const override { return 256; }
  std::optional<int32_t> token_to_id(std::string_view) const override { return std::nullopt; }
  std::string_view id_to_token(int32_t) const override { return {}; }
  bool is_special(int32_t) const override { return false; }
};

TEST(IncrementalDetokenizer, GenericStreamForOtherTokenizers) {
  LetterTokenizer tok;
  const std::string text = "né🙂";
  const Streamed s = stream(tok, tok.encode(text, false), false);
  EXPECT_EQ(s.joined, text);
  EXPECT_EQ(s.pieces[0], "n");
  EXPECT_EQ(s.pieces[1], "");  // first byte of é held
  EXPECT_EQ(s.pieces[2], "é");
}

}  // namespace
}  // namespace tandem::text::testing
