// FakeEngine: a scripted EngineApi test double for the service tests. It records what was submitted
// and aborted; the test plays the engine thread by calling emit() / finish(). submit() can be told
// to fail with a given status.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "worker/service/engine.h"

namespace tandem::service::testing {

class FakeEngine final : public EngineApi {
 public:
  Status submit(GenerateInput input, EventSink sink) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!next_submit_status_.ok()) return std::exchange(next_submit_status_, Status::Ok());
    if (sinks_.count(input.id)) return make_status(StatusCode::kAlreadyExists, "request id '{}' is live", input.id);
    inputs_.push_back(input);
    sinks_[input.id] = std::move(sink);
    cv_.notify_all();
    return Status::Ok();
  }
  bool abort(const std::string& id, std::string reason) override {
    std::lock_guard<std::mutex> lk(mu_);
    aborted_.push_back(id);
    abort_reasons_.push_back(reason);
    cv_.notify_all();
    return sinks_.count(id) > 0;
  }
  int32_t abort_all(std::string) override { return 0; }
  bool flush_cache() override {
    std::lock_guard<std::mutex> lk(mu_);
    ++flushes_;
    return sinks_.empty();
  }
  EngineLoad load() const override { return load_; }
  int32_t vocab_size() const override { return 1000; }
  int32_t max_context_len() const override { return 2048; }
  int32_t live_requests() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return static_cast<int32_t>(sinks_.size());
  }

  // --- test side ---
  void fail_next_submit(Status st) {
    std::lock_guard<std::mutex> lk(mu_);
    next_submit_status_ = std::move(st);
  }
  void set_load(EngineLoad l) { load_ = l; }
  // Waits until `count` requests were submitted; returns the inputs.
  std::vector<GenerateInput> wait_submitted(size_t count) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(10), [&] { return inputs_.size() >= count; });
    return inputs_;
  }
  std::vector<std::string> wait_aborted(size_t count) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(10), [&] { return aborted_.size() >= count; });
    return aborted_;
  }
  // Plays one engine event; a terminal one retires the request once every index ended.
  void emit(const std::string& id, EngineEvent ev) {
    EventSink sink;
    {
      std::lock_guard<std::mutex> lk(mu_);
      sink = sinks_.at(id);
    }
    ev.id = id;
    sink(std::move(ev));
  }
  void retire(const std::string& id) {
    std::lock_guard<std::mutex> lk(mu_);
    sinks_.erase(id);
  }
  int flushes() const {
    std::lock_guard<std::mutex> lk(mu_);
    return flushes_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<GenerateInput> inputs_;
  std::map<std::string, EventSink> sinks_;
  std::vector<std::string> aborted_;
  std::vector<std::string> abort_reasons_;
  Status next_submit_status_;
  EngineLoad load_;
  int flushes_ = 0;
};

// Event helpers.
inline EngineEvent step(int32_t index, std::vector<int32_t> tokens) {
  EngineEvent e;
  e.index = index;
  e.tokens = std::move(tokens);
  return e;
}
inline EngineEvent terminal(int32_t index, std::vector<int32_t> output, FinishReason reason, int32_t prompt,
                            int32_t cached = 0) {
  EngineEvent e;
  e.index = index;
  e.tokens = std::move(output);
  e.finish = reason;
  e.prompt_tokens = prompt;
  e.completion_tokens = static_cast<int32_t>(e.tokens.size());
  e.cached_tokens = cached;
  return e;
}

}  // namespace tandem::service::testing
