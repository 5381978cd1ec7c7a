// Unit tests of the tokenizer's parts, with expectations taken from Rust/HF behaviour (checked
// against `tokenizers` 0.23 when written), and of its error messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gateway/text/tokenizer/added_tokens.h"
#include "gateway/text/tokenizer/byte_level.h"
#include "gateway/text/tokenizer/decoder.h"
#include "gateway/text/tokenizer/gguf_tokenizer_data.h"
#include "gateway/text/tokenizer/pre_tokenizer.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {
namespace {

std::string lossy(std::string_view bytes) {
  std::string out;
  append_utf8_lossy(bytes, &out);
  return out;
}

const std::string R = std::string(kReplacementChar);

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // Expectations from Rust's String::from_utf8_lossy.
  EXPECT_EQ(lossy("abc"), "abc");
  EXPECT_EQ(lossy("\xC3\xA9"), "é");
  EXPECT_EQ(lossy("\xFF"), R);
  EXPECT_EQ(lossy("a\xE4\xB8" "b"), "a" + R + "b");     // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(lossy("\xE4\xB8"), R);                       // truncated at the end: one U+FFFD
  EXPECT_EQ(lossy("\xE0\x80\x80"), R + R + R);           // overlong: E0 needs A0..BF next
  EXPECT_EQ(lossy("\xED\xA0\x80"), R + R + R);           // surrogate
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), R + R + R + R);   // above U+10FFFF
  EXPECT_EQ(lossy("\xF0\x9F\x99"), R);                   // 3 of 4 bytes
  EXPECT_EQ(lossy("\xF0\x9F\x99\x82"), "🙂");
  EXPECT_EQ(lossy("\x80\x80"), R + R);                   // stray continuation bytes
  EXPECT_EQ(lossy("\xC0\xAF"), R + R);                   // C0 is never valid
}

TEST(Utf8, StreamEqualsBatchOnRandomBytes) {
  std::mt19937 rng(7);
  const std::string alphabet = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x99\x82\x80\xBF\xFF\xED\xA0\xF4\x90";
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bytes;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) bytes += alphabet[rng() % alphabet.size()];
    Utf8LossyStream stream;
    std::string out;
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t len = 1 + rng() % 3;
      std::string piece;
      stream.push(std::string_view(bytes).substr(pos, len), &piece);
      EXPECT_TRUE(is_valid_utf8(piece));
      out += piece;
      pos += len;
    }
    stream.finish(&out);
    ASSERT_EQ(out, lossy(bytes)) << "iteration " << iter;
  }
}

TEST(ByteLevel, Gpt2Alphabet) {
  const auto& a = ByteLevelAlphabet::get();
  EXPECT_EQ(a.spelling(' '), "Ġ");
  EXPECT_EQ(a.spelling('\n'), "Ċ");
  EXPECT_EQ(a.spelling('A'), "A");
  EXPECT_EQ(a.spelling(0xAD), "Ń");  // soft hyphen is not printable: remapped
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string spelled, back;
  a.to_spelling(all, &spelled);
  ASSERT_TRUE(a.to_bytes(spelled, &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(a.to_bytes("<|im_start|>▁", &back));  // ▁ is outside the alphabet
}

std::vector<std::string> pieces(const std::vector<PreTokenizerStep>& steps, std::string_view text) {
  auto pt = PreTokenizer::create(steps);
  EXPECT_TRUE(pt.ok()) << pt.status().to_string();
  std::vector<Piece> out;
  std::deque<std::string> arena;
  pt->split(text, true, &out, &arena);
  std::vector<std::string> s;
  for (const Piece& p : out) s.emplace_back(p.text);
  return s;
}

PreTokenizerStep split(std::string re, SplitBehavior b) {
  PreTokenizerStep s;
  s.regex = std::move(re);
  s.behavior = b;
  return s;
}

using Strings = std::vector<std::string>;

TEST(PreTokenizer, SplitBehavioursMatchHf) {
  // Expected values from tokenizers' pre_tokenize_str.
  EXPECT_EQ(pieces({split(R"(\s*)", SplitBehavior::kMergedWithPrevious)}, "ab  cd e"),
            (Strings{"a", "b  ", "c", "d ", "e"}));
  EXPECT_EQ(pieces({split("x*", SplitBehavior::kIsolated)}, "abxxc"), (Strings{"a", "b", "xx", "c"}));
  EXPECT_EQ(pieces({split("x*", SplitBehavior::kMergedWithNext)}, "abxxc"), (Strings{"a", "b", "xxc"}));
  EXPECT_EQ(pieces({split("x*", SplitBehavior::kContiguous)}, "abxxc"), (Strings{"a", "b", "xx", "c"}));
  EXPECT_EQ(pieces({split("-", SplitBehavior::kRemoved)}, "a-b--c"), (Strings{"a", "b", "c"}));
  PreTokenizerStep inv = split("-", SplitBehavior::kRemoved);
  inv.invert = true;
  EXPECT_EQ(pieces({inv}, "a-b--c"), (Strings{"-", "-", "-"}));  // adjacent matches stay apart
  EXPECT_EQ(pieces({split("x*", SplitBehavior::kMergedWithPrevious)}, "abxxcx"), (Strings{"a", "bxx", "cx"}));
  EXPECT_EQ(pieces({split(R"(\s*)", SplitBehavior::kMergedWithNext)}, "ab  cd e"),
            (Strings{"a", "b", "  c", "d", " e"}));
  EXPECT_EQ(pieces({split(R"(\s*)", SplitBehavior::kContiguous)}, "ab  cd e"),
            (Strings{"a", "b", "  ", "c", "d", " ", "e"}));
  EXPECT_EQ(pieces({split("b*", SplitBehavior::kRemoved)}, "abbcb"), (Strings{"a", "c"}));
}

TEST(PreTokenizer, Gpt2RegexAndDigits) {
  PreTokenizerStep bl;
  bl.kind = PreTokenizerStep::Kind::kByteLevel;
  bl.use_regex = true;
  EXPECT_EQ(pieces({bl}, "Hello world's  123!\n\n"),
            (Strings{"Hello", " world", "'s", " ", " 123", "!", "\n\n"}));
  EXPECT_EQ(pieces({split(R"(\p{N})", SplitBehavior::kIsolated), bl}, "a 123"), (Strings{"a", " ", "1", "2", "3"}));
  bl.add_prefix_space = true;
  EXPECT_EQ(pieces({bl}, "hi"), (Strings{" hi"}));
}

TEST(PreTokenizer, Metaspace) {
  PreTokenizerStep m;
  m.kind = PreTokenizerStep::Kind::kMetaspace;
  m.prepend_scheme = PrependScheme::kAlways;
  m.split = true;
  EXPECT_EQ(pieces({m}, "hello big world"), (Strings{"▁hello", "▁big", "▁world"}));
  EXPECT_EQ(pieces({m}, " hi"), (Strings{"▁hi"}));  // already starts with a space: no second one
  m.split = false;
  m.prepend_scheme = PrependScheme::kNever;
  EXPECT_EQ(pieces({m}, "a b"), (Strings{"a▁b"}));
}

TEST(PreTokenizer, HugeWhitespaceRunDoesNotBreakTheRegex) {
  PreTokenizerStep bl;
  bl.kind = PreTokenizerStep::Kind::kByteLevel;
  const std::string text = "a" + std::string(200000, ' ') + "b";
  const Strings p = pieces({bl}, text);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[1].size(), 199999u);  // \s+(?!\S) leaves the last space to " b"
  EXPECT_EQ(p[2], " b");
}

TEST(PreTokenizer, InvalidUtf8StaysInPieces) {
  PreTokenizerStep bl;
  bl.kind = PreTokenizerStep::Kind::kByteLevel;
  std::string joined;
  for (const std::string& s : pieces({bl}, "ab\xFF\xC3 cd\xE4\xB8")) joined += s;
  EXPECT_EQ(joined, "ab\xFF\xC3 cd\xE4\xB8");  // every byte survives, whatever the split
}

std::vector<std::pair<std::string, int32_t>> matches(const AddedTokenMatcher& m, std::string_view text) {
  std::vector<TextSegment> segs;
  m.split(text, &segs);
  std::vector<std::pair<std::string, int32_t>> out;
  for (const TextSegment& s : segs) out.emplace_back(std::string(s.text), s.token_id);
  return out;
}

AddedTokenSpec added(int32_t id, std::string content) {
  AddedTokenSpec a;
  a.id = id;
  a.content = std::move(content);
  return a;
}

TEST(AddedTokens, LeftmostLongestNonOverlapping) {
  AddedTokenMatcher m({added(1, "<a>"), added(2, "<a>b"), added(3, "b<c>")});
  using V = std::vector<std::pair<std::string, int32_t>>;
  EXPECT_EQ(matches(m, "x<a>b<c>"), (V{{"x", -1}, {"<a>b", 2}, {"<c>", -1}}));
  EXPECT_EQ(matches(m, "<a><a>"), (V{{"<a>", 1}, {"<a>", 1}}));
  EXPECT_EQ(matches(m, ""), V{});
}

TEST(AddedTokens, FlagsFollowHf) {
  AddedTokenSpec mask = added(1, "<mask>");
  mask.lstrip = true;
  mask.rstrip = true;
  mask.single_word = true;
  AddedTokenMatcher m({mask});
  using V = std::vector<std::pair<std::string, int32_t>>;
  // From tokenizers' own test_lstrip_unicode_space (without its Lowercase normalizer).
  EXPECT_EQ(matches(m, "Hi <mask> there\t<mask>\t<mask>\u2000"),
            (V{{"Hi", -1}, {" <mask> ", 1}, {"there", -1}, {"\t<mask>\t", 1}, {"<mask>\u2000", 1}}));
  // single_word: glued to a word character on either side is not a match.
  EXPECT_EQ(matches(m, "a<mask> x"), (V{{"a<mask> x", -1}}));
  EXPECT_EQ(matches(m, "<mask>, x"), (V{{"<mask>", 1}, {", x", -1}}));
}

// A tiny byte-level tokenizer.json where ignore_merges matters: merges turn "abc" into a + bc,
// but "abc" is itself a token. Expected ids from tokenizers 0.23.
std::string tiny_json(bool ignore_merges) {
  return std::string(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "Ġ": 6},
    "merges": ["b c", "a b"], "ignore_merges": )") +
         (ignore_merges ? "true" : "false") +
         R"(}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"}})";
}

TEST(BpeModel, IgnoreMergesEmitsWholeVocabularyWords) {
  auto plain = load_tokenizer_from_hf_json(tiny_json(false), "", "tiny");
  auto ignore = load_tokenizer_from_hf_json(tiny_json(true), "", "tiny");
  ASSERT_TRUE(plain.ok() && ignore.ok());
  EXPECT_EQ((*plain)->encode("abc abc", false), (std::vector<int32_t>{0, 4, 6, 0, 4}));
  EXPECT_EQ((*ignore)->encode("abc abc", false), (std::vector<int32_t>{5, 6, 0, 4}));
  EXPECT_EQ((*ignore)->encode("abcabc", false), (std::vector<int32_t>{0, 4, 0, 4}));
  EXPECT_EQ((*ignore)->decode(std::vector<int32_t>{5, 6, 3, 2}, false), "abc abc");
}

std::string run_decoder(const std::vector<DecoderStep>& steps, const std::vector<std::string>& tokens) {
  auto p = DecoderPipeline::create(steps);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  auto st = p->start();
  std::string out;
  for (const std::string& t : tokens) st->push(t, &out);
  st->finish(&out);
  return out;
}

TEST(Decoder, ChainsMatchHf) {
  using K = DecoderStep::Kind;
  // Expected values from tokenizers 0.23.
  EXPECT_EQ(run_decoder({DecoderStep::of(K::kFuse), DecoderStep::replace("ab", "_")}, {"xa", "bx"}), "x_x");
  EXPECT_EQ(run_decoder({DecoderStep::replace("ab", "_")}, {"xa", "bx"}), "xabx");
  EXPECT_EQ(run_decoder({DecoderStep::of(K::kFuse), DecoderStep::strip("x", 1, 2)}, {"x", "x", "xa", "bx", "x", "x", "x"}),
            "xxabxx");
  EXPECT_EQ(run_decoder({DecoderStep::of(K::kMetaspace)}, {"▁", "▁a", "b", "▁a"}), " ab a");
  EXPECT_EQ(run_decoder({}, {"▁", "▁a", "b"}), "▁ ▁a b");  // no decoder: joined with spaces
  // Byte fallback: a valid run is its text, an invalid run one U+FFFD per byte.
  const std::vector<DecoderStep> spm = {DecoderStep::replace("▁", " "), DecoderStep::of(K::kByteFallback),
                                        DecoderStep::of(K::kFuse), DecoderStep::strip(" ", 1, 0)};
  EXPECT_EQ(run_decoder(spm, {"▁hi", "<0xE4>", "<0xB8>", "<0xAD>", "!"}), "hi中!");
  EXPECT_EQ(run_decoder(spm, {"▁hi", "<0xE4>", "<0xB8>", "!"}), "hi" + R + R + "!");
  EXPECT_EQ(run_decoder({DecoderStep::of(K::kByteLevel)}, {"Ġhi", "<|im_end|>", "Ċ"}), " hi<|im_end|>\n");
}

TEST(Decoder, RejectsChainsWithoutAStreamingForm) {
  using K = DecoderStep::Kind;
  auto p = DecoderPipeline::create({DecoderStep::of(K::kFuse), DecoderStep::of(K::kByteFallback)});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(p.status().message().find("ByteFallback after Fuse"), std::string::npos) << p.status().message();
}

// --- error messages ------------------------------------------------------------------------------

std::string load_error(std::string_view json, std::string_view config = "") {
  auto t = load_tokenizer_from_hf_json(json, config, "tokenizer.json");
  return t.ok() ? "OK" : t.status().to_string();
}

void expect_contains(const std::string& s, const std::string& part) {
  EXPECT_NE(s.find(part), std::string::npos) << "message: " << s << "\nexpected to contain: " << part;
}

TEST(HfJsonErrors, SayWhatAndWhere) {
  expect_contains(load_error("{\n  \"model\": {,\n}"), "not valid JSON at line 2, column 13");
  expect_contains(load_error("[]"), "the document must be an object, got an array");
  expect_contains(load_error("{}"), "'model' is missing");
  expect_contains(load_error(R"({"model": {"type": "Unigram", "vocab": []}})"),
                  "model.type 'Unigram' is not supported");
  expect_contains(load_error(R"({"model": {"type": "BPE", "vocab": [], "merges": []}})"),
                  "model.vocab must be an object, got an array");
  expect_contains(load_error(R"({"model": {"vocab": {"a": "x"}}})"), "model.vocab.a must be an integer, got a string");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0, "b": 1}, "merges": ["a c"]}})"),
                  "merge #0 'a c' uses token 'c' that is not in the vocabulary");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}, "merges": ["a b c"]}})"),
                  "model.merges[0] = 'a b c' must be two tokens separated by one space");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}, "unk_token": "<unk>"}})"),
                  "unk_token '<unk>' is not in the vocabulary");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}, "pre_tokenizer": {"type": "Sequence",
      "pretokenizers": [{"type": "ByteLevel"}, {"type": "Whitespace"}]}})"),
                  "pre_tokenizer.pretokenizers[1]: pre-tokenizer type 'Whitespace' is not supported");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}, "pre_tokenizer": {"type": "Split",
      "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})"),
                  "regex does not compile");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": -3, "content": "x"}]})"),
                  "added_tokens[0].id = -3 is not a valid token id");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}, "normalizer": {"type": "NFKC"}})"),
                  "normalizer type 'NFKC' is not supported");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}, "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}})"),
                  "uses special token '<s>' that post_processor.special_tokens does not define");
  expect_contains(load_error(R"({"model": {"vocab": {"a": 0}}})", R"({"bos_token": "<s>"})"),
                  "bos_token '<s>' is not in the vocabulary or added tokens");
  EXPECT_EQ(load_error(R"({"model": {"vocab": {"a": 0}}})"), "OK");
}

TEST(HfJsonErrors, MissingDirectoryIsNotFound) {
  auto t = load_tokenizer_from_hf_dir("/nonexistent/tandem/dir");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  expect_contains(t.status().message(), "no tokenizer.json in '/nonexistent/tandem/dir'");
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("tandem_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(HfDir, ChatTemplateSources) {
  TempDir dir;
  dir.write("tokenizer.json", R"({"model": {"vocab": {"a": 0, "<s>": 1}}})");
  auto none = read_hf_chat_template(dir.path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());  // no config at all

  dir.write("tokenizer_config.json", R"({"bos_token": {"content": "<s>", "lstrip": false}, "add_bos_token": true,
      "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})");
  auto listed = read_hf_chat_template(dir.path());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, "D");
  auto tok = load_tokenizer_from_hf_dir(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_EQ((*tok)->chat_template(), "D");
  EXPECT_EQ((*tok)->bos_token(), "<s>");  // AddedToken-dict form
  EXPECT_TRUE((*tok)->add_bos());         // add_bos_token builds the template the json lacks
  EXPECT_EQ((*tok)->encode("a", true), (std::vector<int32_t>{1, 0}));

  dir.write("chat_template.jinja", "J");  // newer transformers save it beside the config
  auto jinja = read_hf_chat_template(dir.path());
  ASSERT_TRUE(jinja.ok());
  EXPECT_EQ(*jinja, "J");
}

GgufTokenizerData tiny_gguf() {
  GgufTokenizerData d;
  d.source = "tiny.gguf";
  d.model = "gpt2";
  d.pre = "default";
  const auto& a = ByteLevelAlphabet::get();
  for (int b = 0; b < 256; ++b) d.tokens.emplace_back(a.spelling(static_cast<uint8_t>(b)));
  d.tokens.push_back("<|end|>");
  d.token_types.assign(256, 1);
  d.token_types.push_back(3);
  d.merges = {"h i"};
  d.tokens.push_back("hi");
  d.token_types.push_back(1);
  d.eos_id = 256;
  return d;
}

TEST(GgufErrors, UnknownPreListsKnownOnes) {
  GgufTokenizerData d = tiny_gguf();
  d.pre = "mystery-bpe";
  auto t = load_tokenizer_from_gguf_data(d);
  ASSERT_FALSE(t.ok());
  expect_contains(t.status().message(), "tiny.gguf: tokenizer.ggml.pre 'mystery-bpe' is not supported");
  expect_contains(t.status().message(), "smollm");
  expect_contains(t.status().message(), "llama-bpe");
  expect_contains(t.status().message(), "qwen2");
}

TEST(GgufErrors, InconsistentMetadata) {
  GgufTokenizerData d = tiny_gguf();
  d.model = "bert";
  expect_contains(load_tokenizer_from_gguf_data(d).status().message(), "tokenizer.ggml.model 'bert' is not supported");
  d = tiny_gguf();
  d.token_types.pop_back();
  expect_contains(load_tokenizer_from_gguf_data(d).status().message(), "token_type has 257 entries for 258 tokens");
  d = tiny_gguf();
  d.bos_id = 9999;
  expect_contains(load_tokenizer_from_gguf_data(d).status().message(),
                  "bos_token_id 9999 is outside the vocabulary (258 tokens)");
  d = tiny_gguf();
  d.model = "llama";
  d.merges.clear();
  d.bos_id = 0;
  expect_contains(load_tokenizer_from_gguf_data(d).status().message(), "needs tokenizer.ggml.scores");
}

TEST(GgufData, TinyByteLevelTokenizerIsLosslessOnAnyBytes) {
  auto t = load_tokenizer_from_gguf_data(tiny_gguf());
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const Tokenizer& tok = **t;
  EXPECT_EQ(tok.encode("hi<|end|>", false), (std::vector<int32_t>{257, 256}));
  EXPECT_TRUE(tok.is_special(256));
  EXPECT_EQ(tok.decode(tok.encode("hi<|end|>x", false), true), "hix");
  std::mt19937 rng(3);
  for (int iter = 0; iter < 500; ++iter) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ASSERT_EQ(tok.decode(tok.encode(bytes, false), false), lossy(bytes));
  }
}

}  // namespace
}  // namespace tandem::text
