// The engine thread's request bookkeeping: inbox commands (add, abort, flush), parallel samples,
// terminal events and the load snapshot.
#include <algorithm>
#include <chrono>
#include <functional>

#include "common/check.h"
#include "worker/service/engine_impl.h"

namespace tandem::service {

namespace {

using scheduler::TimePoint;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

std::string terminal_message(FinishReason reason, const GenerateInput& in,
                             const std::string& abort_reason) {
  switch (reason) {
    case FinishReason::kAbort:
      return abort_reason.empty() ? "aborted" : abort_reason;
    case FinishReason::kWaitingTimeout:
      return fmt::format("request timed out after waiting {:.3f} s in the queue (waiting_timeout)",
                         in.waiting_timeout ? seconds(*in.waiting_timeout) : 0.0);
    case FinishReason::kRunningTimeout:
      return fmt::format("request timed out after running {:.3f} s (running_timeout)",
                         in.running_timeout ? seconds(*in.running_timeout) : 0.0);
    default:
      return {};
  }
}

// A seed per (request, sample) for requests that bring none: independent of arrival order.
uint64_t fallback_seed(uint64_t base, const std::string& id, int32_t index) {
  uint64_t h = std::hash<std::string>{}(id) ^ (base * 0x9E3779B97F4A7C15ull);
  return h + static_cast<uint64_t>(index) * 0xBF58476D1CE4E5B9ull;
}

}  // namespace

void Engine::Impl::handle(Command& command, TimePoint now) {
  if (auto* add = std::get_if<AddCommand>(&command)) {
    add_group(*add);
  } else if (auto* abort = std::get_if<AbortCommand>(&command)) {
    if (!abort->id.empty()) {
      abort_group(abort->id, abort->reason, now);
    } else {
      std::vector<std::string> all;
      for (const auto& [id, g] : groups) all.push_back(id);
      for (const std::string& id : all) abort_group(id, abort->reason, now);
    }
  } else if (auto* flush = std::get_if<FlushCommand>(&command)) {
    const bool ok = sched->idle();
    if (ok) sched->flush_cache();
    publish_load(now, 0);
    flush->done.set_value(ok);
  }
}

void Engine::Impl::add_group(AddCommand& add) {
  auto g = std::make_shared<Group>();
  g->input = std::move(add.input);
  g->sink = std::move(add.sink);
  g->arrival = add.arrival;
  g->open = g->input.n;
  // Samples 1..n-1 wait until sample 0's prompt is in the radix cache, then reuse its KV.
  for (int32_t i = g->input.n - 1; i >= 1; --i) g->held_back.push_back(i);
  groups[g->input.id] = g;
  if (g->input.pd) {
    pd_add(g, add.arrival);
    return;
  }
  add_sample(g, 0, add.arrival);
}

std::unique_ptr<scheduler::Request> Engine::Impl::make_sample(const std::shared_ptr<Group>& g,
                                                             int32_t index,
                                                             sampling::SamplingParams params,
                                                             Sample& s) {
  const GenerateInput& in = g->input;
  // A seeded request with n > 1 must not draw n identical samples.
  if (params.seed && index > 0) *params.seed += static_cast<uint64_t>(index);
  auto req = std::make_unique<scheduler::Request>(sample_id(in, index), in.prompt, params, g->arrival);
  req->priority = in.priority;
  req->extra_key = in.extra_key;
  req->waiting_timeout = in.waiting_timeout;
  req->running_timeout = in.running_timeout;
  s.group = g;
  s.index = index;
  s.want_logprobs = params.return_logprob || params.top_logprobs > 0;
  s.sampler = std::make_unique<sampling::SequenceSampler>(
      params, in.prompt, config.eos_token_ids, fallback_seed(config.base_seed, in.id, index));
  return req;
}

void Engine::Impl::add_sample(const std::shared_ptr<Group>& g, int32_t index, TimePoint now) {
  const GenerateInput& in = g->input;
  sampling::SamplingParams params = in.params;
  // A prefill worker computes the prompt and the first token only; the decode worker does the rest.
  if (config.role == EngineRole::kPrefill) params.max_new_tokens = 1;
  Sample s;
  std::unique_ptr<scheduler::Request> req = make_sample(g, index, std::move(params), s);
  const std::string id = req->id;
  Status st = sched->add(std::move(req), now);
  if (!st.ok()) {  // submit() validated already; this is a limit the scheduler alone knows
    EngineEvent ev;
    ev.id = in.id;
    ev.index = index;
    ev.finish = FinishReason::kAbort;
    ev.error = st.message();
    ev.prompt_tokens = static_cast<int32_t>(in.prompt.size());
    ev.e2e_latency = std::max(Duration::zero(), now - g->arrival);
    if (pd_rooms.count(in.id)) {
      pd_fail(in.id, st.code(), st.message(), now);
      return;
    }
    finish_sample(g, std::move(ev));
    return;
  }
  samples.emplace(id, std::move(s));
}

void Engine::Impl::release_held_back(Group& g, TimePoint now) {
  std::vector<int32_t> held;
  held.swap(g.held_back);
  const std::shared_ptr<Group> self = groups.at(g.input.id);
  while (!held.empty()) {
    add_sample(self, held.back(), now);
    held.pop_back();
  }
}

void Engine::Impl::abort_group(const std::string& id, const std::string& reason, TimePoint now) {
  auto it = groups.find(id);
  if (it == groups.end()) return;  // finished while the abort was queued
  std::shared_ptr<Group> g = it->second;
  g->abort_reason = reason;
  // A disaggregated request tells its peer; if it has no scheduler part it ends right here.
  if (pd_rooms.count(id) && pd_abort(id, reason, now)) return;
  for (int32_t index : g->held_back) {
    EngineEvent ev;
    ev.id = id;
    ev.index = index;
    ev.finish = FinishReason::kAbort;
    ev.error = reason;
    ev.prompt_tokens = static_cast<int32_t>(g->input.prompt.size());
    ev.e2e_latency = std::max(Duration::zero(), now - g->arrival);
    finish_sample(g, std::move(ev));
  }
  g->held_back.clear();
  for (int32_t index = 0; index < g->input.n; ++index) {
    const std::string sid = sample_id(g->input, index);
    if (samples.count(sid)) (void)sched->abort(sid, now);  // the result arrives in deliver_results
  }
  deliver_results(now);
}

void Engine::Impl::deliver_results(TimePoint now) {
  for (scheduler::RequestResult& r : sched->take_results()) {
    auto it = samples.find(r.id);
    CHECK(it != samples.end(), "result for unknown request {}", r.id);
    Sample s = std::move(it->second);
    samples.erase(it);
    EngineEvent ev;
    ev.id = s.group->input.id;
    ev.index = s.index;
    ev.finish = r.finish_reason;
    ev.error = terminal_message(r.finish_reason, s.group->input, s.group->abort_reason);
    if (r.finish_reason == FinishReason::kStop || r.finish_reason == FinishReason::kLength) {
      const sampling::FinishReason want = r.finish_reason == FinishReason::kStop
                                              ? sampling::FinishReason::kStop
                                              : sampling::FinishReason::kLength;
      CHECK(s.last_finish == want, "request {}: the scheduler finished it ({}) but the sampler did not",
            r.id, scheduler::finish_reason_name(r.finish_reason));
    }
    if (r.finish_reason == FinishReason::kStop && !r.output.empty()) {
      ev.matched_stop_token = r.output.back();
    }
    ev.prompt_tokens = r.prompt_tokens;
    ev.completion_tokens = static_cast<int32_t>(r.output.size());
    ev.cached_tokens = r.cached_tokens;
    ev.retractions = r.preemptions;
    ev.e2e_latency = r.e2e_latency;
    ev.time_to_first_token = r.time_to_first_token;
    if (s.want_logprobs) {
      CHECK(s.logprobs.size() == r.output.size(), "request {}: {} logprobs for {} tokens", r.id,
            s.logprobs.size(), r.output.size());
      ev.logprobs = std::move(s.logprobs);
    }
    ev.tokens = std::move(r.output);
    if (config.role == EngineRole::kPrefill && pd_prefill_result(ev)) continue;
    std::shared_ptr<Group> g = s.group;
    // Sample 0 ended before its prompt was cached (timeout, error): start the others anyway.
    if (s.index == 0 && !g->held_back.empty() && g->abort_reason.empty()) {
      release_held_back(*g, now);
    }
    finish_sample(g, std::move(ev));
  }
}

void Engine::Impl::finish_sample(const std::shared_ptr<Group>& g, EngineEvent event) {
  CHECK(event.terminal(), "finish_sample with a non-terminal event for {}", event.id);
  g->sink(std::move(event));
  if (--g->open > 0) return;
  groups.erase(g->input.id);
  std::lock_guard<std::mutex> lock(mu);
  live_ids.erase(g->input.id);
}

void Engine::Impl::publish_load(TimePoint now, int32_t new_tokens) {
  constexpr auto kWindow = std::chrono::seconds(5);
  if (new_tokens > 0) recent.emplace_back(now, new_tokens);
  while (!recent.empty() && now - recent.front().first > kWindow) recent.pop_front();
  int64_t window_tokens = 0;
  for (const auto& [t, n] : recent) window_tokens += n;
  const double span = recent.empty() ? 0.0 : std::max(seconds(now - recent.front().first), 1.0);
  const scheduler::LoadReport r = sched->load();
  int32_t pd_queued = 0, pd_inflight = 0;
  for (const auto& [id, room] : pd_rooms) {
    const bool queued = room.phase == PdRoom::Phase::kPrealloc ||
                        (config.role == EngineRole::kPrefill && room.phase == PdRoom::Phase::kBootstrap);
    (queued ? pd_queued : pd_inflight) += 1;
  }
  pd::TransferStats ts;
  if (config.role == EngineRole::kPrefill) ts = config.prefill_transport->stats();
  if (config.role == EngineRole::kDecode) ts = config.decode_transport->stats();
  std::lock_guard<std::mutex> lock(mu);
  load.pd_queued = pd_queued;
  load.pd_inflight = pd_inflight;
  load.kv_transfer_speed_gb_s = ts.kv_transfer_speed_gb_s;
  load.kv_transfer_latency_ms = ts.kv_transfer_latency_ms;
  load.running = r.running;
  load.waiting = r.waiting + pd_queued + (config.role == EngineRole::kDecode ? pd_inflight : 0);
  load.used_tokens = r.used_tokens;
  load.total_tokens = r.total_tokens;
  load.free_tokens = kv.allocator().num_free();
  load.cached_tokens = sched->cache().cached_tokens();
  load.cache_hit_rate = r.cache_hit_rate;
  load.gen_throughput = span > 0 ? static_cast<double>(window_tokens) / span : 0.0;
  if (new_tokens > 0) load.steps += 1;
  load.generated_tokens += static_cast<uint64_t>(new_tokens);
}

}  // namespace tandem::service
