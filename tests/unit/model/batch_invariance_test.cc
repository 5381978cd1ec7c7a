// ACCEPTANCE 8: the greedy output of a request does not depend on what else is in the batch —
// identical tokens (and bit-identical logits) on CPU, whatever the batch's size and raggedness.
#include <gtest/gtest.h>

#include "tests/support/test_paths.h"
#include "tests/unit/model/model_test_support.h"

namespace tandem::testing {
namespace {

std::vector<int32_t> pseudo_prompt(int len, uint32_t seed, int32_t vocab) {
  std::vector<int32_t> p;
  uint32_t x = seed * 2654435761u + 1;
  for (int i = 0; i < len; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    p.push_back(static_cast<int32_t>(3 + x % (vocab - 3)));
  }
  return p;
}

TEST(BatchInvarianceTest, DefaultModelGreedyTokensIndependentOfBatch) {
  auto m = load_test_model(default_model_path(), kernels::make_cpu_backend(2));
  ASSERT_TRUE(m.ok()) << m.status().to_string() << " (run scripts/setup.sh to fetch the model)";
  const int32_t vocab = (*m)->config().vocab_size;
  std::vector<std::vector<int32_t>> prompts;
  const int lens[] = {1, 5, 17, 33, 64, 9, 120, 2};
  for (int i = 0; i < 8; ++i) prompts.push_back(pseudo_prompt(lens[i], i + 1, vocab));
  // Two requests share a prefix, as they will under the prefix cache.
  prompts[5].insert(prompts[5].begin(), prompts[4].begin(), prompts[4].end());
  const int steps = 8;
  std::vector<std::vector<std::vector<float>>> batch_logits;
  auto batch = greedy_batch(**m, prompts, steps, &batch_logits);
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::vector<std::vector<float>>> alone_logits;
    auto alone = greedy_batch(**m, {prompts[i]}, steps, &alone_logits);
    EXPECT_EQ(alone[0], batch[i]) << "request " << i << " (prompt length " << prompts[i].size() << ")";
    for (int s = 0; s < steps; ++s) {
      EXPECT_EQ(alone_logits[0][s], batch_logits[i][s]) << "request " << i << " step " << s;
    }
  }
}

}  // namespace
}  // namespace tandem::testing
