// The engine thread: the loop and one step (drain inbox → plan → forward → sample → complete →
// deliver events).
#include <algorithm>
#include <chrono>
#include <functional>

#include "common/check.h"
#include "common/logging.h"
#include "worker/service/engine_impl.h"

namespace tandem::service {

using scheduler::TimePoint;

std::string Engine::Impl::sample_id(const GenerateInput& input, int32_t index) const {
  return input.n == 1 ? input.id : fmt::format("{}#{}", input.id, index);
}

void Engine::Impl::loop() {
  while (true) {
    const bool worked = step();
    std::unique_lock<std::mutex> lock(mu);
    if (stopping && inbox.empty() && groups.empty()) break;
    if (worked || !inbox.empty() || pd_dirty) continue;
    // Nothing to run: sleep until a message arrives or the next request deadline.
    if (std::optional<TimePoint> deadline = sched->next_deadline()) {
      wake.wait_until(lock, *deadline, [&] { return !inbox.empty() || stopping || pd_dirty; });
    } else {
      wake.wait(lock, [&] { return !inbox.empty() || stopping || pd_dirty; });
    }
  }
}

bool Engine::Impl::step() {
  std::deque<Command> commands;
  {
    std::lock_guard<std::mutex> lock(mu);
    commands.swap(inbox);
    pd_dirty = false;
  }
  TimePoint now = Clock::now();
  for (Command& c : commands) handle(c, now);
  // Disaggregation: reservations, transfer progress, requests entering or leaving the scheduler.
  const bool pd_moved = pd() && pd_poll(now);
  deliver_results(now);
  if (sched->idle()) {
    publish_load(now, 0);
    return pd_moved;
  }

  const scheduler::StepPlan plan = sched->plan_step(now);
  deliver_results(now);  // deadlines expired while planning
  if (plan.empty()) {
    publish_load(now, 0);
    return false;
  }
  std::span<float> logits = runner.forward(plan);
  // The chunk's KV is in the cache now: ship it while later chunks compute.
  if (config.role == EngineRole::kPrefill) pd_send_chunks(plan);

  // Sample every logit row with its request's sampler; the scheduler decides what the token means.
  std::vector<int32_t> tokens;
  std::vector<Sample*> sampled;
  int32_t row = 0;
  for (const scheduler::PlannedSequence& s : plan.sequences) {
    if (!s.needs_logits) continue;
    float* logit_row = logits.data() + static_cast<size_t>(row++) * vocab;
    auto it = samples.find(s.request_id);
    CHECK(it != samples.end(), "planned request {} has no sampler", s.request_id);
    Sample& sample = it->second;
    sampling::SampleResult r = sample.sampler->sample(logit_row, vocab);
    sample.last_finish = sample.sampler->accept(r.token);
    tokens.push_back(r.token);
    if (sample.want_logprobs) sample.logprobs.push_back(std::move(r));
    sampled.push_back(&sample);
  }
  now = Clock::now();
  sched->complete_step(plan, tokens, now);
  if (config.check_invariants) sched->check_invariants();

  // Token events, then parallel samples waiting for this prompt, then terminal events.
  std::vector<std::string> ids;
  for (size_t i = 0; i < sampled.size(); ++i) {
    Sample& s = *sampled[i];
    Group& g = *s.group;
    ids.push_back(sample_id(g.input, s.index));
    // A prefill worker streams nothing: its one token goes to the decode worker with Done.
    if (config.role == EngineRole::kPrefill) continue;
    EngineEvent ev;
    ev.id = g.input.id;
    ev.index = s.index;
    ev.tokens = {tokens[i]};
    if (s.want_logprobs) ev.logprobs = {s.logprobs.back()};
    g.sink(std::move(ev));
    if (s.index == 0 && !g.held_back.empty()) release_held_back(g, now);
  }
  deliver_results(now);
  // The sampler and the scheduler apply the same stop rules; a request that is still running must
  // not have been told "stop" by its sampler.
  for (const std::string& id : ids) {
    auto it = samples.find(id);
    CHECK(it == samples.end() || it->second.last_finish == sampling::FinishReason::kNone,
          "request {}: the sampler finished it but the scheduler kept it running", id);
  }
  publish_load(now, static_cast<int32_t>(tokens.size()));
  return true;
}

}  // namespace tandem::service
