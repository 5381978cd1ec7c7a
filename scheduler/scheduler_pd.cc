// Scheduler entry points for disaggregated decode: reservations for KV computed elsewhere and
// the admission of a request whose prompt arrived already prefilled.
#include <algorithm>

#include "common/check.h"
#include "scheduler/scheduler.h"

namespace tandem::scheduler {

const std::vector<int32_t>* Scheduler::reserve(const std::string& id, int32_t n) {
  CHECK(n > 0, "reserve({}) of {} slots", id, n);
  if (auto it = reserved_.find(id); it != reserved_.end()) return &it->second;
  const int64_t live = static_cast<int64_t>(running_.size() + reserved_.size());
  if (live >= config_.limits.max_running_requests) return nullptr;
  // What the running requests still need in the next step (as admit_one keeps free).
  int64_t keep = 0;
  for (const auto& r : running_) {
    keep += r->prefilling() ? r->fill_len - static_cast<int32_t>(r->slots.size()) : 1;
  }
  const int64_t need = keep + n;
  if (need > available()) cache_.evict(static_cast<int32_t>(std::min<int64_t>(need - available(), INT32_MAX)));
  if (need > available()) return nullptr;
  std::vector<int32_t> slots;
  CHECK(allocate(n, slots), "allocating {} available slots failed", n);
  return &reserved_.emplace(id, std::move(slots)).first->second;
}

const std::vector<int32_t>* Scheduler::reservation(const std::string& id) const {
  auto it = reserved_.find(id);
  return it == reserved_.end() ? nullptr : &it->second;
}

bool Scheduler::cancel_reservation(const std::string& id) {
  auto it = reserved_.find(id);
  if (it == reserved_.end()) return false;
  allocator_.release(it->second);
  reserved_.erase(it);
  return true;
}

Status Scheduler::add_prefilled(std::unique_ptr<Request> req, int32_t first_token, int32_t cached_tokens,
                                TimePoint now) {
  CHECK(req != nullptr, "add_prefilled got a null request");
  CHECK(!in_flight_, "add_prefilled while step {} is in flight", step_);
  CHECK(req->state() == RequestState::kQueued, "add_prefilled needs a queued request, got {}",
        request_state_name(req->state()));
  auto it = reserved_.find(req->id);
  if (it == reserved_.end() || it->second.size() != req->prompt.size()) {
    return failed_precondition_error("add_prefilled: request {} has no reservation of {} slots (has {})",
                                     req->id, req->prompt.size(),
                                     it == reserved_.end() ? 0 : it->second.size());
  }
  for (const auto& running : running_) {
    CHECK(running->req->id != req->id, "add_prefilled: request {} is reserved and running at once",
          req->id);
  }
  req->transition(RequestState::kPrefilling, now);
  auto r = std::make_unique<Running>();
  r->req = std::move(req);
  r->seq = r->req->prompt;
  r->slots = std::move(it->second);
  reserved_.erase(it);
  r->cached_len = 0;
  r->reused_len = std::clamp(cached_tokens, 0, static_cast<int32_t>(r->seq.size()));
  r->fill_len = static_cast<int32_t>(r->seq.size());
  r->admitted_order = ++admitted_;
  // The prompt's KV is complete: share it through the radix cache like a locally prefilled one.
  cache_prefix(*r);

  Request& q = *r->req;
  const bool stop = is_stop(q, first_token);
  q.append_output(first_token, now);
  r->seq.push_back(first_token);
  FinishReason reason = FinishReason::kNone;
  if (stop) {
    reason = FinishReason::kStop;
  } else if (static_cast<int32_t>(q.output.size()) >= q.params.max_new_tokens) {
    reason = FinishReason::kLength;
  }
  if (reason != FinishReason::kNone) {
    terminate(std::move(r), RequestState::kFinished, reason, config_.prefix_cache, now);
    return Status::Ok();
  }
  q.transition(RequestState::kDecoding, now);
  running_.push_back(std::move(r));
  return Status::Ok();
}

}  // namespace tandem::scheduler
