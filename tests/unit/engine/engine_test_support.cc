#include "tests/unit/engine/engine_test_support.h"

#include <chrono>

#include "common/check.h"
#include "kernels/backend.h"
#include "tests/support/test_paths.h"

namespace tandem::service::testing {

tandem::testing::TestModel& shared_model() {
  static std::unique_ptr<tandem::testing::TestModel> model = [] {
    auto m = tandem::testing::load_test_model(tandem::testing::default_model_path(),
                                              kernels::make_cpu_backend(2));
    CHECK(m.ok(), "loading the default model failed (run scripts/setup.sh): {}",
          m.status().to_string());
    return std::move(m).value();
  }();
  return *model;
}

EventSink Collector::sink(std::function<void(const EngineEvent&)> hook) {
  return [this, hook](EngineEvent&& ev) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Outcome& o = out_[{ev.id, ev.index}];
      if (ev.terminal()) {
        o.terminal_events += 1;
        o.final = ev;
        open_ -= 1;
        cv_.notify_all();
      } else {
        EXPECT_EQ(o.terminal_events, 0) << "token event after the terminal one for " << ev.id;
        o.streamed.insert(o.streamed.end(), ev.tokens.begin(), ev.tokens.end());
        o.streamed_logprobs.insert(o.streamed_logprobs.end(), ev.logprobs.begin(),
                                   ev.logprobs.end());
      }
    }
    if (hook) hook(ev);
  };
}

void Collector::expect(const std::string& id, int32_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  open_ += n;
  for (int32_t i = 0; i < n; ++i) out_[{id, i}];
}

void Collector::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  const bool done = cv_.wait_for(lock, std::chrono::seconds(120), [&] { return open_ <= 0; });
  ASSERT_TRUE(done) << open_ << " samples still without a terminal event";
  EXPECT_EQ(open_, 0);
}

Outcome& Collector::at(const std::string& id, int32_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return out_[{id, index}];
}

EngineFixture::EngineFixture(int32_t slots, EngineConfig config) {
  const model::ModelConfig& c = shared_model().config();
  kv = std::make_unique<runtime::KvCache>(c.num_layers, slots, c.kv_dim(), DType::kF32);
  auto e = Engine::create(shared_model().model(), *kv, std::move(config));
  CHECK(e.ok(), "Engine::create: {}", e.status().to_string());
  engine = std::move(e).value();
  engine->start();
}

EngineFixture::~EngineFixture() { engine->stop(); }

EngineConfig EngineFixture::default_config() {
  EngineConfig c;
  c.eos_token_ids = {0, 2};  // SmolLM2: <|endoftext|>, <|im_end|>
  c.check_invariants = true;
  return c;
}

GenerateInput EngineFixture::greedy(std::string id, std::vector<int32_t> prompt, int32_t max_new) {
  GenerateInput in;
  in.id = std::move(id);
  in.prompt = std::move(prompt);
  in.params.temperature = 0.0f;
  in.params.max_new_tokens = max_new;
  in.params.ignore_eos = true;  // fixed lengths make the tests' arithmetic simple
  return in;
}

int32_t EngineFixture::free_after_flush() {
  EXPECT_TRUE(engine->flush_cache());
  return kv->allocator().num_free();
}

std::vector<int32_t> make_prompt(int32_t len, uint32_t seed) {
  std::vector<int32_t> p(len);
  uint32_t x = seed * 2654435761u + 12345u;
  for (int32_t& t : p) {
    x = x * 1664525u + 1013904223u;
    t = 200 + static_cast<int32_t>((x >> 8) % 20000);
  }
  return p;
}

}  // namespace tandem::service::testing
