// Randomized WaitingQueue test: random pushes (some with waiting timeouts, some duplicate ids),
// removals by id and expiries, checked after every step against a plain reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "scheduler/waiting_queue.h"

namespace tandem::scheduler {
namespace {

using std::chrono::milliseconds;

struct Model {
  struct Item {
    std::string id;
    std::optional<TimePoint> deadline;
  };
  std::vector<Item> items;  // push order
};

TEST(WaitingQueueStressTest, MatchesReferenceModel) {
  std::mt19937 rng(12345);
  WaitingQueue q;
  Model model;
  TimePoint now = TimePoint{} + std::chrono::seconds(100);
  int64_t expired_total = 0;
  for (int step = 0; step < 4000; ++step) {
    int op = static_cast<int>(rng() % 10);
    std::string id = "r" + std::to_string(rng() % 64);  // small id space: duplicates happen
    if (op < 5) {
      auto r = std::make_unique<Request>(id, std::vector<int32_t>{1}, sampling::SamplingParams{},
                                         now);
      std::optional<TimePoint> deadline;
      if (rng() % 2) {
        r->waiting_timeout = milliseconds(rng() % 50);
        deadline = now + *r->waiting_timeout;
      }
      bool present = std::any_of(model.items.begin(), model.items.end(),
                                 [&](const Model::Item& it) { return it.id == id; });
      Status st = q.push(std::move(r), now);
      ASSERT_EQ(st.ok(), !present) << step << " " << st.to_string();
      if (!present) model.items.push_back({id, deadline});
    } else if (op < 8) {
      auto it = std::find_if(model.items.begin(), model.items.end(),
                             [&](const Model::Item& m) { return m.id == id; });
      std::unique_ptr<Request> got = q.remove(id);
      ASSERT_EQ(got != nullptr, it != model.items.end()) << step;
      if (got) {
        EXPECT_EQ(got->id, id);
        model.items.erase(it);
      }
    } else {
      now += milliseconds(rng() % 20);
      std::vector<std::pair<TimePoint, std::string>> want;
      for (auto& m : model.items) {
        if (m.deadline && *m.deadline <= now) want.emplace_back(*m.deadline, m.id);
      }
      std::erase_if(model.items,
                    [&](const Model::Item& m) { return m.deadline && *m.deadline <= now; });
      auto got = q.expire(now);
      ASSERT_EQ(got.size(), want.size()) << step;
      std::vector<std::pair<TimePoint, std::string>> got_pairs;
      for (auto& r : got) {
        EXPECT_EQ(r->state(), RequestState::kAborted);
        EXPECT_EQ(r->finish_reason, FinishReason::kWaitingTimeout);
        got_pairs.emplace_back(*r->waiting_deadline(), r->id);
      }
      // Earliest deadline first (equal deadlines in any order).
      EXPECT_TRUE(std::is_sorted(got_pairs.begin(), got_pairs.end(),
                                 [](auto& a, auto& b) { return a.first < b.first; }));
      std::sort(got_pairs.begin(), got_pairs.end());
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got_pairs, want) << step;
      expired_total += static_cast<int64_t>(got.size());
    }
    // Queue contents and order equal the model's after every step.
    std::vector<Request*> reqs = q.requests();
    ASSERT_EQ(reqs.size(), model.items.size()) << step;
    for (size_t i = 0; i < reqs.size(); ++i) ASSERT_EQ(reqs[i]->id, model.items[i].id) << step;
    std::optional<TimePoint> next;
    for (auto& m : model.items) {
      if (m.deadline && (!next || *m.deadline < *next)) next = m.deadline;
    }
    ASSERT_EQ(q.next_deadline(), next) << step;
  }
  EXPECT_GT(expired_total, 100);  // the run really exercised expiry
}

}  // namespace
}  // namespace tandem::scheduler
