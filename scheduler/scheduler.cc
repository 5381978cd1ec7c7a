#include "scheduler/scheduler.h"

#include <algorithm>

#include "common/check.h"
#include "scheduler/policies/policy_factory.h"

namespace tandem::scheduler {

int32_t StepPlan::num_logit_rows() const {
  int32_t n = 0;
  for (const PlannedSequence& s : sequences) n += s.needs_logits ? 1 : 0;
  return n;
}

int32_t StepPlan::num_new_tokens() const {
  int32_t n = 0;
  for (const PlannedSequence& s : sequences) n += static_cast<int32_t>(s.new_tokens.size());
  return n;
}

StatusOr<std::unique_ptr<Scheduler>> Scheduler::create(SlotAllocator& allocator,
                                                       SchedulerConfig config) {
  const SchedulerLimits& l = config.limits;
  if (config.page_size < 1) {
    return invalid_argument("page_size must be >= 1, got {}", config.page_size);
  }
  if (l.max_running_requests < 1 || l.max_prefill_tokens_per_step < 1 || l.max_total_tokens < 0 ||
      l.max_context_len < 0) {
    return invalid_argument(
        "scheduler limits must be positive: max_running_requests {}, max_prefill_tokens_per_step "
        "{}, max_total_tokens {} (0 = pool), max_context_len {} (0 = max_total_tokens)",
        l.max_running_requests, l.max_prefill_tokens_per_step, l.max_total_tokens,
        l.max_context_len);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SchedulePolicy> policy, make_policy(config.policy));
  return std::unique_ptr<Scheduler>(new Scheduler(allocator, std::move(config), std::move(policy)));
}

Scheduler::Scheduler(SlotAllocator& allocator, SchedulerConfig config,
                     std::unique_ptr<SchedulePolicy> policy)
    : allocator_(allocator),
      config_(std::move(config)),
      policy_(std::move(policy)),
      cache_(config_.page_size,
             [this](std::span<const int32_t> slots) { allocator_.release(slots); }) {
  total_tokens_ = allocator_.num_slots();
  if (config_.limits.max_total_tokens > 0) {
    total_tokens_ = std::min(total_tokens_, config_.limits.max_total_tokens);
  }
  // A request longer than the usable pool could never be admitted and would wait forever.
  int32_t& ctx = config_.limits.max_context_len;
  ctx = ctx == 0 ? total_tokens_ : std::min(ctx, total_tokens_);
}

// Running requests keep their slots: the pool may outlive us, but the KV they hold would be lost
// with the requests anyway; return everything so a reused allocator starts full.
Scheduler::~Scheduler() {
  for (auto& r : running_) release_kv(*r, /*cache_it=*/false);
  for (auto& [id, slots] : reserved_) allocator_.release(slots);
  cache_.flush();
}

Status Scheduler::add(std::unique_ptr<Request> request, TimePoint now) {
  CHECK(request != nullptr, "Scheduler::add got a null request");
  CHECK(request->state() == RequestState::kQueued, "Scheduler::add needs a queued request, got {}",
        request_state_name(request->state()));
  const int32_t prompt = static_cast<int32_t>(request->prompt.size());
  if (prompt == 0) {
    return invalid_argument("request {}: empty prompt; send at least one token", request->id);
  }
  if (request->params.max_new_tokens < 1) {
    return invalid_argument("request {}: max_new_tokens must be >= 1, got {}", request->id,
                            request->params.max_new_tokens);
  }
  const int64_t need = int64_t{prompt} + request->params.max_new_tokens;
  if (need > config_.limits.max_context_len) {
    return invalid_argument(
        "request {}: prompt {} + max_new_tokens {} = {} tokens exceeds the context limit {}; "
        "shorten the prompt or lower max_new_tokens",
        request->id, prompt, request->params.max_new_tokens, need, config_.limits.max_context_len);
  }
  for (const auto& r : running_) {
    if (r->req->id == request->id) {
      return make_status(StatusCode::kAlreadyExists, "request {} is already running", request->id);
    }
  }
  return queue_.push(std::move(request), now);
}

Status Scheduler::abort(std::string_view id, TimePoint now) {
  if (std::unique_ptr<Request> q = queue_.remove(id)) {
    q->finish_reason = FinishReason::kAbort;
    q->transition(RequestState::kAborted, now);
    emit(*q, 0);
    return Status::Ok();
  }
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if ((*it)->req->id == id) {
      std::unique_ptr<Running> r = std::move(*it);
      running_.erase(it);
      terminate(std::move(r), RequestState::kAborted, FinishReason::kAbort, false, now);
      return Status::Ok();
    }
  }
  return not_found("abort: no queued or running request with id '{}'", id);
}

int32_t Scheduler::available() const {
  const int32_t used = allocator_.num_slots() - allocator_.num_free();
  return std::max(0, std::min(allocator_.num_free(), total_tokens_ - used));
}

bool Scheduler::allocate(int32_t n, std::vector<int32_t>& out) {
  if (n > available()) cache_.evict(n - available());
  if (n > available()) return false;
  Status st = allocator_.allocate(n, out);
  CHECK(st.ok(), "slot allocation failed although {} were available: {}", available(),
        st.message());
  return true;
}

void Scheduler::release_kv(Running& r, bool cache_it) {
  if (r.locked != nullptr) {
    cache_.dec_lock(r.locked);
    r.locked = nullptr;
  }
  std::span<const int32_t> slots(r.slots);
  if (cache_it) {
    // Only tokens whose KV was computed: seq[0, slots.size()).
    std::span<const int32_t> tokens(r.seq.data(), slots.size());
    const int32_t already = cache_.insert(tokens, slots, r.req->extra_key);
    const int32_t aligned =
        static_cast<int32_t>(slots.size()) / config_.page_size * config_.page_size;
    // [0, cached_len) are the cache's own slots. [cached_len, already) duplicate tokens another
    // request cached meanwhile (ours never entered the tree). [aligned, end) is the partial page.
    if (already > r.cached_len) {
      allocator_.release(slots.subspan(r.cached_len, already - r.cached_len));
    }
    allocator_.release(slots.subspan(aligned));
  } else {
    allocator_.release(slots.subspan(r.cached_len));
  }
  r.slots.clear();
  r.cached_len = 0;
}

void Scheduler::emit(Request& req, int32_t cached_tokens) {
  CHECK(req.is_terminal(), "emitting non-terminal request {}", req.id);
  RequestResult res;
  res.id = req.id;
  res.finish_reason = req.finish_reason;
  res.output = req.output;
  res.prompt_tokens = static_cast<int32_t>(req.prompt.size());
  res.cached_tokens = cached_tokens;
  res.preemptions = req.preemptions;
  const TimePoint end = req.finished.value_or(req.arrival);
  res.e2e_latency = std::max(Duration::zero(), end - req.arrival);
  if (req.first_token) res.time_to_first_token = *req.first_token - req.arrival;
  results_.push_back(std::move(res));
}

void Scheduler::terminate(std::unique_ptr<Running> r, RequestState state, FinishReason reason,
                          bool cache_it, TimePoint now) {
  const int32_t cached = r->reused_len;
  release_kv(*r, cache_it);
  r->req->finish_reason = reason;
  r->req->transition(state, now);
  emit(*r->req, cached);
}

void Scheduler::retract(std::unique_ptr<Running> r, TimePoint now) {
  release_kv(*r, /*cache_it=*/false);
  Request& req = *r->req;
  req.transition(RequestState::kQueued, now);
  Status st = queue_.push(std::move(r->req), now);
  CHECK(st.ok(), "requeueing a retracted request failed: {}", st.message());
}

bool Scheduler::is_stop(const Request& req, int32_t token) const {
  const sampling::SamplingParams& p = req.params;
  if (static_cast<int32_t>(req.output.size()) < p.min_new_tokens) return false;
  const auto& stops = p.stop_token_ids;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) return true;
  return !p.ignore_eos && std::find(config_.eos_token_ids.begin(), config_.eos_token_ids.end(),
                                    token) != config_.eos_token_ids.end();
}

std::optional<TimePoint> Scheduler::next_deadline() const {
  std::optional<TimePoint> best = queue_.next_deadline();
  for (const auto& r : running_) {
    std::optional<TimePoint> d = r->req->running_deadline();
    if (d && (!best || *d < *best)) best = d;
  }
  return best;
}

LoadReport Scheduler::load() const {
  LoadReport l;
  l.running = static_cast<int32_t>(running_.size());
  l.waiting = static_cast<int32_t>(queue_.size());
  l.total_tokens = total_tokens_;
  l.used_tokens = allocator_.num_slots() - allocator_.num_free();
  const CacheStats& s = cache_.stats();
  if (s.tokens_queried > 0) {
    l.cache_hit_rate =
        static_cast<double>(s.tokens_matched) / static_cast<double>(s.tokens_queried);
  }
  return l;
}

std::vector<RequestResult> Scheduler::take_results() {
  std::vector<RequestResult> out;
  out.swap(results_);
  return out;
}

void Scheduler::check_invariants() const {
  cache_.check_invariants();
  int64_t held = 0;
  for (const auto& r : running_) {
    CHECK(r->cached_len <= static_cast<int32_t>(r->slots.size()),
          "request {}: cached prefix {} longer than its {} slots", r->req->id, r->cached_len,
          r->slots.size());
    CHECK(r->slots.size() <= r->seq.size(), "request {}: {} slots for {} tokens", r->req->id,
          r->slots.size(), r->seq.size());
    CHECK(r->cached_len == 0 || r->locked != nullptr,
          "request {}: cached prefix {} without a lock", r->req->id, r->cached_len);
    held += static_cast<int64_t>(r->slots.size()) - r->cached_len;
  }
  for (const auto& [id, slots] : reserved_) held += static_cast<int64_t>(slots.size());
  const int64_t sum = allocator_.num_free() + int64_t{cache_.cached_tokens()} + held;
  CHECK(sum == allocator_.num_slots(),
        "slot leak: free {} + cached {} + held by requests {} = {} != pool {}",
        allocator_.num_free(), cache_.cached_tokens(), held, sum, allocator_.num_slots());
}

}  // namespace tandem::scheduler
