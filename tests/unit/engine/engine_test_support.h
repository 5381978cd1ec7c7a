// Engine tests on the real default model: an engine over a fresh KV pool, and a collector that
// records every event per (request, sample) and waits for the terminal ones.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/model/model_test_support.h"
#include "worker/service/engine.h"

namespace tandem::service::testing {

// The default model, loaded once per test binary (read-only after loading).
tandem::testing::TestModel& shared_model();

struct Outcome {
  std::vector<int32_t> streamed;  // tokens of the non-terminal events, in order
  std::vector<sampling::SampleResult> streamed_logprobs;
  EngineEvent final;
  int terminal_events = 0;
};

class Collector {
 public:
  // A sink that records into outcome(id, index). `hook` (optional) runs on the engine thread
  // after each event is recorded.
  EventSink sink(std::function<void(const EngineEvent&)> hook = nullptr);
  void expect(const std::string& id, int32_t n = 1);
  // Waits until every expected sample has its terminal event (fails the test after 120 s).
  void wait();
  Outcome& at(const std::string& id, int32_t index = 0);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::map<std::pair<std::string, int32_t>, Outcome> out_;
};

struct EngineFixture {
  explicit EngineFixture(int32_t slots, EngineConfig config = default_config());
  ~EngineFixture();
  static EngineConfig default_config();
  // Greedy request with max_new_tokens.
  static GenerateInput greedy(std::string id, std::vector<int32_t> prompt, int32_t max_new);
  // Free pool after dropping the unused cache: must equal the pool size when nothing leaked.
  int32_t free_after_flush();

  std::unique_ptr<runtime::KvCache> kv;
  std::unique_ptr<Engine> engine;
};

// Deterministic pseudo-random prompt of ordinary token ids.
std::vector<int32_t> make_prompt(int32_t len, uint32_t seed);

}  // namespace tandem::service::testing
