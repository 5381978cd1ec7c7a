// Fake model for scheduler tests: a KV "cache" that stores the token id written to each slot, and a
// next-token function of the whole context read back through the plan's slot list. A scheduler bug
// that hands out wrong, stale or shared slots changes the tokens, so outputs are compared with a
// reference computed without any scheduler.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "scheduler/scheduler.h"

namespace tandem::scheduler::testing {

inline constexpr int32_t kVocab = 997;

inline int32_t next_token(const std::vector<int32_t>& context) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : context) h = (h ^ static_cast<uint64_t>(t + 1)) * 1099511628211ull;
  return static_cast<int32_t>((h >> 17) % kVocab);
}

// Greedy output of the fake model without a scheduler.
inline std::vector<int32_t> reference_output(std::vector<int32_t> prompt, int32_t max_new,
                                             const std::vector<int32_t>& stops = {}) {
  std::vector<int32_t> out;
  while (static_cast<int32_t>(out.size()) < max_new) {
    int32_t t = next_token(prompt);
    out.push_back(t);
    prompt.push_back(t);
    bool stop = false;
    for (int32_t s : stops) stop |= s == t;
    if (stop) break;
  }
  return out;
}

class FakeModel {
 public:
  explicit FakeModel(int32_t num_slots) : kv_(num_slots, -1) {}
  // Writes the new tokens' "KV", then samples one token per needs_logits row.
  std::vector<int32_t> run(const StepPlan& plan) {
    std::vector<int32_t> sampled;
    std::set<int32_t> written;
    for (const PlannedSequence& s : plan.sequences) {
      EXPECT_EQ(s.context_slots.size(), s.position_start + s.new_tokens.size()) << s.request_id;
      std::set<int32_t> uniq(s.context_slots.begin(), s.context_slots.end());
      EXPECT_EQ(uniq.size(), s.context_slots.size()) << "duplicate slot in " << s.request_id;
      for (size_t i = 0; i < s.new_tokens.size(); ++i) {
        const int32_t slot = s.context_slots[s.position_start + i];
        EXPECT_TRUE(written.insert(slot).second) << "slot " << slot << " written twice in a step";
        kv_[slot] = s.new_tokens[i];
      }
      if (!s.needs_logits) continue;
      std::vector<int32_t> ctx;
      for (int32_t slot : s.context_slots) ctx.push_back(kv_[slot]);
      sampled.push_back(next_token(ctx));
    }
    return sampled;
  }

 private:
  std::vector<int32_t> kv_;
};

inline std::unique_ptr<Request> make_request(const std::string& id, std::vector<int32_t> prompt,
                                             int32_t max_new, TimePoint arrival = TimePoint{}) {
  sampling::SamplingParams p;
  p.temperature = 0;
  p.max_new_tokens = max_new;
  return std::make_unique<Request>(id, std::move(prompt), p, arrival);
}

inline std::vector<int32_t> iota_prompt(int32_t n, int32_t start) {
  std::vector<int32_t> v;
  for (int32_t i = 0; i < n; ++i) v.push_back(start + i);
  return v;
}

}  // namespace tandem::scheduler::testing
