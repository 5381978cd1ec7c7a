// The engine thread: the loop and one step (drain inbox → plan → forward → sample → complete →
// deliver events).
#include <algorithm>
#include <chrono>
#include <functional>

#include <spdlog/spdlog.h>

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

std::vector<sampling::SampleResult> Engine::Impl::forward_and_sample(const scheduler::StepPlan& plan,
                                                                     const std::vector<Sample*>& sampled) {
  std::vector<sampling::SampleResult> results(sampled.size());
  if (!runner.samples_where_logits_are()) {
    std::span<float> logits = runner.forward(plan);
    // The chunk's KV is in the cache now: ship it while later chunks compute.
    if (config.role == EngineRole::kPrefill) pd_send_chunks(plan);
    for (size_t i = 0; i < sampled.size(); ++i) {
      results[i] = sampled[i]->sampler->sample(logits.data() + i * static_cast<size_t>(vocab), vocab);
    }
    return results;
  }
  // Sampling on the backend: only token ids (and logprobs) come back. A row the device path cannot
  // serve (top_logprobs) is copied raw to the host and sampled there.
  runner.forward_for_sampling(plan);
  if (config.role == EngineRole::kPrefill) pd_send_chunks(plan);
  step_rows.clear();
  step_edits.clear();
  std::vector<size_t> on_backend;
  for (size_t i = 0; i < sampled.size(); ++i) {
    kernels::SampleRow row;
    row.logit_row = static_cast<int32_t>(i);
    if (sampled[i]->sampler->describe_step(vocab, row, step_edits)) {
      step_rows.push_back(row);
      on_backend.push_back(i);
    } else {
      results[i] = sampled[i]->sampler->sample(runner.logit_row(static_cast<int32_t>(i)).data(), vocab);
    }
  }
  std::span<const kernels::SampledToken> out = runner.sample(step_rows, step_edits);
  for (size_t j = 0; j < on_backend.size(); ++j) {
    results[on_backend[j]] = sampled[on_backend[j]]->sampler->take_result(out[j]);
  }
  return results;
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

  const TimePoint step_start = now;
  const scheduler::StepPlan plan = sched->plan_step(now);
  deliver_results(now);  // deadlines expired while planning
  if (plan.empty()) {
    publish_load(now, 0);
    return false;
  }
  // Every logit row with its request's sampler; the scheduler decides what the token means.
  std::vector<Sample*> sampled;
  for (const scheduler::PlannedSequence& s : plan.sequences) {
    if (!s.needs_logits) continue;
    auto it = samples.find(s.request_id);
    CHECK(it != samples.end(), "planned request {} has no sampler", s.request_id);
    sampled.push_back(&it->second);
  }
  const std::vector<sampling::SampleResult> results = forward_and_sample(plan, sampled);
  std::vector<int32_t> tokens;
  for (size_t i = 0; i < sampled.size(); ++i) {
    Sample& sample = *sampled[i];
    sample.last_finish = sample.sampler->accept(results[i].token);
    tokens.push_back(results[i].token);
    if (sample.want_logprobs) sample.logprobs.push_back(results[i]);
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
  log_step_stats(step_start, now, static_cast<int32_t>(tokens.size()));
  return true;
}

// Every 30 s of work, one line: throughput, step time, and (on a device) how much of the step the
// engine thread spent waiting for the device — the rest is host work the device waited for.
void Engine::Impl::log_step_stats(TimePoint step_start, TimePoint now, int32_t tokens) {
  if (stats.steps == 0) stats.since = step_start;
  ++stats.steps;
  stats.tokens += tokens;
  stats.step_s += std::chrono::duration<double>(now - step_start).count();
  stats.wait_s += runner.last_device_wait_s();
  const double span = std::chrono::duration<double>(now - stats.since).count();
  if (span < 30.0) return;
  const scheduler::LoadReport r = sched->load();
  spdlog::info("engine: {} steps in {:.0f} s, {:.1f} tok/s, {} running, {} waiting, {:.2f} ms/step{}", stats.steps,
               span, stats.tokens / span, r.running, r.waiting, 1e3 * stats.step_s / stats.steps,
               runner.model().backend().is_device()
                   ? fmt::format(" ({:.2f} ms of it waiting for the device)", 1e3 * stats.wait_s / stats.steps)
                   : std::string());
  stats = StepStats{};
}

}  // namespace tandem::service
