// Scheduler::plan_step / complete_step: the per-step half of the scheduler (scheduler.cc holds the
// request bookkeeping and the single KV release point).
#include <algorithm>

#include "common/check.h"
#include "scheduler/policies/priority_policy.h"
#include "scheduler/scheduler.h"

namespace tandem::scheduler {

std::unique_ptr<Scheduler::Running> Scheduler::take_running(const std::string& id) {
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if ((*it)->req->id == id) {
      std::unique_ptr<Running> r = std::move(*it);
      running_.erase(it);
      return r;
    }
  }
  return nullptr;
}

void Scheduler::plan_chunk(Running& r, int32_t& budget, StepPlan& plan) {
  const int32_t done = static_cast<int32_t>(r.slots.size());
  const int32_t want = std::min(r.fill_len - done, budget);
  if (want <= 0) return;
  if (want > available()) cache_.evict(want - available());
  const int32_t chunk = std::min(want, available());
  if (chunk <= 0) return;
  CHECK(allocate(chunk, r.slots), "allocating {} available slots failed", chunk);
  budget -= chunk;
  PlannedSequence s;
  s.request_id = r.req->id;
  s.new_tokens.assign(r.seq.begin() + done, r.seq.begin() + done + chunk);
  s.context_slots = r.slots;
  s.position_start = done;
  s.needs_logits = done + chunk == r.fill_len;
  plan.sequences.push_back(std::move(s));
}

bool Scheduler::admit_one(Request* req, int32_t& budget, StepPlan& plan, TimePoint now) {
  std::vector<int32_t> seq = req->prompt;
  seq.insert(seq.end(), req->output.begin(), req->output.end());
  // With the prefix cache off an empty lookup matches nothing (the namespace root).
  const bool reuse = config_.prefix_cache;
  MatchResult m = cache_.match_prefix(reuse ? std::span<const int32_t>(seq) : std::span<const int32_t>(),
                                      req->extra_key, /*record_stats=*/reuse);
  // At least one token must be computed to get logits, so never reuse the whole sequence.
  const int32_t page = config_.page_size;
  const int32_t use =
      std::min(m.matched, (static_cast<int32_t>(seq.size()) - 1) / page * page);
  // Pin the prefix before evicting for our own room, so eviction cannot take it.
  cache_.inc_lock(m.last_node);
  // KV the already running requests still need (rest of their prefill, next decode token), plus
  // all of this prompt: admitting only what fits avoids retracting it again right away.
  int64_t reserved = 0;
  for (const auto& r : running_) {
    reserved += r->prefilling() ? r->fill_len - static_cast<int32_t>(r->slots.size()) : 1;
  }
  const int64_t need = reserved + static_cast<int64_t>(seq.size()) - use;
  if (need > available()) cache_.evict(static_cast<int32_t>(need - available()));
  if (need > available()) {
    cache_.dec_lock(m.last_node);
    return false;
  }
  std::unique_ptr<Request> owned = queue_.remove(req->id);
  CHECK(owned != nullptr, "admitting request {} that is not queued", req->id);
  owned->transition(RequestState::kPrefilling, now);
  auto r = std::make_unique<Running>();
  r->req = std::move(owned);
  r->seq = std::move(seq);
  r->slots.assign(m.slots.begin(), m.slots.begin() + use);
  r->cached_len = use;
  r->reused_len = use;
  r->fill_len = static_cast<int32_t>(r->seq.size());
  r->admitted_order = ++admitted_;
  if (use > 0) {
    r->locked = m.last_node;
  } else {
    cache_.dec_lock(m.last_node);
  }
  plan_chunk(*r, budget, plan);
  running_.push_back(std::move(r));
  return true;
}

void Scheduler::preempt_for_priority(TimePoint now) {
  if (policy_->name() != "priority" || queue_.empty() || running_.empty()) return;
  const std::vector<Request*> order = queue_.ordered(*policy_, cache_);
  const Request& top = *order.front();
  auto fits = [&] {
    if (static_cast<int32_t>(running_.size()) >= config_.limits.max_running_requests) return false;
    int64_t need = static_cast<int64_t>(top.prompt.size() + top.output.size());
    for (const auto& r : running_) {
      need += r->prefilling() ? r->fill_len - static_cast<int32_t>(r->slots.size()) : 1;
    }
    return need <= int64_t{available()} + cache_.evictable_tokens();
  };
  if (fits()) return;
  std::vector<Request*> running;
  for (const auto& r : running_) running.push_back(r->req.get());
  for (Request* victim : preemption_candidates(running, top)) {
    if (fits()) break;
    retract(take_running(victim->id), now);
  }
}

StepPlan Scheduler::plan_step(TimePoint now) {
  CHECK(!in_flight_, "plan_step called while step {} is still in flight; call complete_step first",
        step_);
  StepPlan plan;
  plan.step = ++step_;

  // 1. Deadlines.
  for (std::unique_ptr<Request>& q : queue_.expire(now)) emit(*q, 0);
  for (size_t i = 0; i < running_.size();) {
    if (running_[i]->req->running_expired(now)) {
      std::unique_ptr<Running> r = std::move(running_[i]);
      running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
      terminate(std::move(r), RequestState::kAborted, FinishReason::kRunningTimeout, false, now);
    } else {
      ++i;
    }
  }

  preempt_for_priority(now);

  // 2. Decodes: one slot each; under pressure evict the cache, then retract victims (the request
  // with the most tokens still to generate first, newest first on ties) until the rest fit.
  auto decoders = [&] {
    int32_t n = 0;
    for (const auto& r : running_) n += r->prefilling() ? 0 : 1;
    return n;
  };
  if (decoders() > available()) cache_.evict(decoders() - available());
  while (decoders() > available()) {
    CHECK(running_.size() > 1,
          "a lone request cannot get one KV slot (free {}, cached {}); limits admit too much",
          allocator_.num_free(), cache_.cached_tokens());
    auto remaining = [](const Running& r) {
      return int64_t{r.req->params.max_new_tokens} - static_cast<int64_t>(r.req->output.size());
    };
    auto victim = std::max_element(running_.begin(), running_.end(),
                                   [&](const auto& a, const auto& b) {
                                     if (remaining(*a) != remaining(*b)) {
                                       return remaining(*a) < remaining(*b);
                                     }
                                     return a->admitted_order < b->admitted_order;
                                   });
    std::unique_ptr<Running> r = std::move(*victim);
    running_.erase(victim);
    retract(std::move(r), now);
  }
  for (auto& r : running_) {
    if (r->prefilling()) continue;
    CHECK(allocate(1, r->slots), "decode slot vanished for request {}", r->req->id);
    PlannedSequence s;
    s.request_id = r->req->id;
    s.new_tokens = {r->seq.back()};
    s.context_slots = r->slots;
    s.position_start = static_cast<int32_t>(r->slots.size()) - 1;
    s.needs_logits = true;
    s.is_decode = true;
    plan.sequences.push_back(std::move(s));
  }

  // 3. Prefills under way continue first (admission order), then 4. new admissions in policy
  // order while the chunk budget, the running limit and memory allow. The first request that does
  // not fit stops admission, so the policy order is never overtaken by smaller requests.
  int32_t budget = config_.limits.max_prefill_tokens_per_step;
  for (auto& r : running_) {
    if (r->prefilling()) plan_chunk(*r, budget, plan);
  }
  if (budget > 0 && !queue_.empty()) {
    for (Request* req : queue_.ordered(*policy_, cache_)) {
      if (budget <= 0 ||
          static_cast<int32_t>(running_.size()) >= config_.limits.max_running_requests) {
        break;
      }
      if (!admit_one(req, budget, plan, now)) break;
    }
  }

  // 5. Progress: running prefills that cannot get memory (others hold it) would wait forever;
  // retract the newest until one can move.
  while (plan.empty() && running_.size() > 1) {
    auto newest = std::max_element(
        running_.begin(), running_.end(),
        [](const auto& a, const auto& b) { return a->admitted_order < b->admitted_order; });
    std::unique_ptr<Running> r = std::move(*newest);
    running_.erase(newest);
    retract(std::move(r), now);
    budget = config_.limits.max_prefill_tokens_per_step;
    for (auto& p : running_) {
      if (p->prefilling()) plan_chunk(*p, budget, plan);
    }
  }
  in_flight_ = !plan.empty();
  return plan;
}

void Scheduler::complete_step(const StepPlan& plan, std::span<const int32_t> sampled,
                              TimePoint now) {
  if (plan.empty()) return;
  CHECK(in_flight_ && plan.step == step_,
        "complete_step for step {} but the step in flight is {} ({})", plan.step, step_,
        in_flight_ ? "in flight" : "none");
  CHECK(static_cast<int32_t>(sampled.size()) == plan.num_logit_rows(),
        "complete_step got {} sampled tokens for {} logit rows", sampled.size(),
        plan.num_logit_rows());
  in_flight_ = false;
  size_t row = 0;
  for (const PlannedSequence& s : plan.sequences) {
    if (!s.needs_logits) continue;
    const int32_t token = sampled[row++];
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& r) { return r->req->id == s.request_id; });
    if (it == running_.end()) continue;  // aborted since the plan was made
    Running& r = **it;
    Request& req = *r.req;
    const bool stop = is_stop(req, token);
    req.append_output(token, now);
    r.seq.push_back(token);
    FinishReason reason = FinishReason::kNone;
    if (stop) {
      reason = FinishReason::kStop;
    } else if (static_cast<int32_t>(req.output.size()) >= req.params.max_new_tokens) {
      reason = FinishReason::kLength;
    }
    if (reason != FinishReason::kNone) {
      std::unique_ptr<Running> done = std::move(*it);
      running_.erase(it);
      terminate(std::move(done), RequestState::kFinished, reason, config_.prefix_cache, now);
    } else if (req.state() == RequestState::kPrefilling) {
      req.transition(RequestState::kDecoding, now);
    }
  }
  // Prefill chunks of requests still running: cache what they computed.
  for (const PlannedSequence& s : plan.sequences) {
    if (s.is_decode) continue;
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& r) { return r->req->id == s.request_id; });
    if (it != running_.end()) cache_prefix(**it);
  }
}

void Scheduler::cache_prefix(Running& r) {
  if (!config_.prefix_cache) return;
  const int32_t computed = static_cast<int32_t>(r.slots.size());
  const int32_t aligned = computed / config_.page_size * config_.page_size;
  if (aligned <= r.cached_len) return;
  std::span<const int32_t> tokens(r.seq.data(), computed);
  const int32_t already = cache_.insert(tokens, r.slots, r.req->extra_key);
  // [cached_len, already): another request cached these tokens meanwhile; ours are duplicates
  // with the same KV. Give them back and use the cache's slots from now on.
  if (already > r.cached_len) {
    allocator_.release(std::span<const int32_t>(r.slots).subspan(r.cached_len,
                                                                 already - r.cached_len));
  }
  MatchResult m = cache_.match_prefix(tokens, r.req->extra_key, /*record_stats=*/false);
  CHECK(m.matched == aligned, "request {}: {} tokens cached but {} match", r.req->id, aligned,
        m.matched);
  std::copy(m.slots.begin(), m.slots.end(), r.slots.begin());
  cache_.inc_lock(m.last_node);
  if (r.locked != nullptr) cache_.dec_lock(r.locked);
  r.locked = m.last_node;
  r.cached_len = aligned;
}

}  // namespace tandem::scheduler
