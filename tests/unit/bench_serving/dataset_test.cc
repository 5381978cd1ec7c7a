#include "bench/serving/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "gateway/text/tokenizer/tokenizer.h"
#include "tests/support/test_paths.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::bench {
namespace {

class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = testing::default_model_path();
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run scripts/fetch_model.sh";
    auto gguf = model::GgufFile::open(path);
    ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
    auto tok = text::load_tokenizer_from_gguf(**gguf);
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    gguf_ = std::move(gguf.value()).release();
    tokenizer_ = std::move(tok.value()).release();
  }
  static inline model::GgufFile* gguf_ = nullptr;
  static inline text::Tokenizer* tokenizer_ = nullptr;
};

TEST_F(DatasetTest, RandomLengthsFollowTheRangeAndIdsAreOrdinary) {
  auto prompts = make_random_prompts(*tokenizer_, {200, 32, 8, 0.5, 7});
  ASSERT_TRUE(prompts.ok()) << prompts.status().to_string();
  ASSERT_EQ(prompts->size(), 200u);
  std::map<int64_t, int> input_lens;
  for (const BenchPrompt& p : *prompts) {
    EXPECT_GE(p.input_len, 16);
    EXPECT_LE(p.input_len, 32);
    EXPECT_GE(p.output_len, 4);
    EXPECT_LE(p.output_len, 8);
    EXPECT_EQ(static_cast<int64_t>(p.ids.size()), p.input_len);
    for (int32_t id : p.ids) EXPECT_FALSE(tokenizer_->is_special(id)) << id;
    EXPECT_FALSE(p.text.empty());
    ++input_lens[p.input_len];
  }
  EXPECT_GT(input_lens.size(), 8u) << "lengths should spread over [16, 32]";
}

TEST_F(DatasetTest, RandomRatioOneIsExactAndSeedsRepeat) {
  auto a = make_random_prompts(*tokenizer_, {10, 32, 8, 1.0, 3});
  auto b = make_random_prompts(*tokenizer_, {10, 32, 8, 1.0, 3});
  auto c = make_random_prompts(*tokenizer_, {10, 32, 8, 1.0, 4});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].input_len, 32);
    EXPECT_EQ((*a)[i].output_len, 8);
    EXPECT_EQ((*a)[i].ids, (*b)[i].ids);
  }
  EXPECT_NE((*a)[0].ids, (*c)[0].ids);
}

TEST_F(DatasetTest, RandomRejectsBadOptions) {
  EXPECT_FALSE(make_random_prompts(*tokenizer_, {0, 32, 8, 0.0, 1}).ok());
  auto bad_ratio = make_random_prompts(*tokenizer_, {1, 32, 8, 1.5, 1});
  ASSERT_FALSE(bad_ratio.ok());
  EXPECT_NE(bad_ratio.status().message().find("1.5"), std::string::npos);
}

TEST_F(DatasetTest, SharedPrefixGroupsShareTheirSystemPrompt) {
  auto prompts = make_shared_prefix_prompts(*tokenizer_, {3, 4, 40, 10, 6, 1});
  ASSERT_TRUE(prompts.ok()) << prompts.status().to_string();
  ASSERT_EQ(prompts->size(), 12u);
  std::map<std::vector<int32_t>, int> groups;
  for (const BenchPrompt& p : *prompts) {
    EXPECT_EQ(p.input_len, 50);
    EXPECT_EQ(p.output_len, 6);
    ++groups[std::vector<int32_t>(p.ids.begin(), p.ids.begin() + 40)];
  }
  ASSERT_EQ(groups.size(), 3u);
  for (const auto& [prefix, n] : groups) EXPECT_EQ(n, 4);
}

TEST(ShareGptParseTest, TakesFirstHumanTurnAndTheGptTurnAfterIt) {
  const std::string json = R"([
    {"id": "a", "conversations": [{"from": "system", "value": "sys"}, {"from": "human", "value": "Q1"},
                                  {"from": "gpt", "value": "A1"}, {"from": "human", "value": "Q2"}]},
    {"conversations": [{"from": "human", "value": "lonely"}]},
    {"conversations": []},
    {"conversations": [{"from": "user", "value": "Q3"}, {"from": "assistant", "value": "A3"}]}
  ])";
  auto pairs = parse_sharegpt(json, "t.json");
  ASSERT_TRUE(pairs.ok()) << pairs.status().to_string();
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].prompt, "Q1");
  EXPECT_EQ((*pairs)[0].completion, "A1");
  EXPECT_EQ((*pairs)[1].prompt, "Q3");
  EXPECT_EQ((*pairs)[1].completion, "A3");
}

TEST(ShareGptParseTest, MalformedFilesSayWhatIsWrongAndWhere) {
  struct Case {
    std::string json, expect;
  };
  const std::vector<Case> cases = {
      {"[{\"conversations\": [", "not valid JSON"},
      {R"({"conversations": []})", "top level is a JSON object"},
      {R"([{"conversations": []}, {"turns": []}])", "entry 1 has no \"conversations\""},
      {R"([{"conversations": [{"from": "human", "value": "x"}, {"from": "gpt"}]}])", "entry 0 turn 1"},
      {R"([{"conversations": [{"from": "human", "value": 3}]}])", "entry 0 turn 0"},
  };
  for (const Case& c : cases) {
    auto r = parse_sharegpt(c.json, "bad.json");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("bad.json"), std::string::npos) << r.status().message();
  }
}

TEST_F(DatasetTest, ShareGptPromptsUseTokenCountsAndFilterLikeSglang) {
  std::vector<ShareGptPair> pairs = {
      {"What is the capital of France? Answer briefly.", "The capital of France is Paris, of course."},
      {"Hi", "Hello there, how can I help you today?"},  // prompt under 2 tokens: dropped
      {"Tell me a story about a cat.", "Ok"},            // output under 2 tokens: dropped
  };
  auto prompts = make_sharegpt_prompts(*tokenizer_, pairs, {1, 0, 1});
  ASSERT_TRUE(prompts.ok()) << prompts.status().to_string();
  ASSERT_EQ(prompts->size(), 1u);
  const BenchPrompt& p = (*prompts)[0];
  EXPECT_EQ(p.text, pairs[0].prompt);
  EXPECT_EQ(p.ids, tokenizer_->encode(pairs[0].prompt, false));
  EXPECT_EQ(p.output_len, static_cast<int64_t>(tokenizer_->encode(pairs[0].completion, false).size()));

  auto fixed = make_sharegpt_prompts(*tokenizer_, pairs, {1, 5, 1});
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ((*fixed)[0].output_len, 5);

  auto too_many = make_sharegpt_prompts(*tokenizer_, pairs, {2, 0, 1});
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("1 usable"), std::string::npos) << too_many.status().message();
}

}  // namespace
}  // namespace tandem::bench
