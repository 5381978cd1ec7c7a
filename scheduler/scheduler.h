// Scheduler: plans every forward step of one engine — continuous batching of decodes, admission of
// waiting requests in policy order with radix prefix reuse, chunked prefill (a long prompt spreads
// over several steps, mixed with decodes), retraction under KV pressure (victims are requeued with
// their generated tokens, so the resumed prompt is prompt + output), abort at any stage, waiting and
// running timeouts. Device-agnostic: it moves token ids and slot indices, never tensors.
// Semantics follow SGLang's scheduler (schedule_batch / schedule_policy); the code is Tandem's own.
//
// Cycle: add()/abort() at any time; plan_step(now) -> engine runs the plan -> complete_step(plan,
// sampled, now) -> take_results(). At most one plan is in flight (CHECKed).
//
// KV ownership: a running request's context slots are [cached prefix (owned by the radix cache,
// pinned by one lock on its node) | own slots]. Every exit (finish, abort, timeout, retraction) goes
// through one release point that unlocks the node and either gives the own slots to the cache
// (finish) or back to the pool.
//
// Thread model: engine thread only. Nothing is thread-safe; nothing blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "scheduler/batch_plan.h"
#include "scheduler/policies/policy.h"
#include "scheduler/radix_cache.h"
#include "scheduler/request.h"
#include "scheduler/slot_allocator.h"
#include "scheduler/waiting_queue.h"

namespace tandem::scheduler {

struct SchedulerLimits {
  int32_t max_running_requests = 64;
  int32_t max_prefill_tokens_per_step = 2048;  // chunk budget: new prompt tokens per step
  int32_t max_total_tokens = 0;                // slots the scheduler may use; 0 = the whole pool
  int32_t max_context_len = 0;  // prompt + max_new_tokens; 0 (or above the pool) = usable pool
};

struct SchedulerConfig {
  int32_t page_size = 1;              // radix cache page size
  std::string policy = "fcfs";        // make_policy name
  bool prefix_cache = true;           // false: nothing is cached or reused (SGLang's
                                      // --disable-radix-cache; benchmarks, debugging)
  int32_t in_batch_prefix_min = 32;   // see Scheduler::shares_uncached_prefix
  SchedulerLimits limits;
  std::vector<int32_t> eos_token_ids;  // the model's EOS ids (a request's ignore_eos skips them)
};

class Scheduler {
 public:
  // kInvalidArgument for an unknown policy or a non-positive limit / page size.
  static StatusOr<std::unique_ptr<Scheduler>> create(SlotAllocator& allocator,
                                                     SchedulerConfig config);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request (state kQueued). kInvalidArgument: empty prompt, max_new_tokens < 1, or
  // prompt + max_new_tokens over the context limit; kAlreadyExists: the id is live already.
  Status add(std::unique_ptr<Request> request, TimePoint now = Clock::now());
  // Aborts a live request at any stage (queued, prefilling, decoding, in the plan in flight): its
  // KV is released and one kAbort result is emitted. kNotFound when no live request has this id.
  Status abort(std::string_view id, TimePoint now = Clock::now());

  StepPlan plan_step(TimePoint now = Clock::now());
  // `sampled`: one token per needs_logits sequence of `plan`, in order. Tokens of requests aborted
  // since the plan was made are ignored.
  void complete_step(const StepPlan& plan, std::span<const int32_t> sampled,
                     TimePoint now = Clock::now());

  std::vector<RequestResult> take_results();
  LoadReport load() const;
  // Drops every unlocked radix node (slots back to the pool).
  void flush_cache() { cache_.flush(); }
  bool idle() const { return running_.empty() && queue_.empty(); }
  // Earliest waiting/running deadline, for the engine's sleep.
  std::optional<TimePoint> next_deadline() const;

  // CHECKs: free + cached + held by running requests == pool size; radix cache structure; every
  // running request's slot list matches its computed length.
  void check_invariants() const;

  // --- Disaggregated decode (scheduler_pd.cc) ---
  // The prompt's KV of such a request is computed by a prefill worker and lands in slots reserved
  // here first (ACCEPTANCE 11: reserve before the prefill runs).
  //
  // Reserves n slots under `id` (evicting unlocked cache leaves when needed) while keeping one slot
  // per running decode and the rest of every running prefill free, and while running requests +
  // reservations stay under max_running_requests. nullptr when it does not fit now: the engine
  // keeps the request in its pre-allocation queue and retries. Reserved slots count as held in
  // check_invariants until add_prefilled or cancel_reservation.
  const std::vector<int32_t>* reserve(const std::string& id, int32_t n);
  const std::vector<int32_t>* reservation(const std::string& id) const;
  int32_t num_reservations() const { return static_cast<int32_t>(reserved_.size()); }
  // Returns a reservation's slots to the pool (abort, failed transfer). False when there is none.
  bool cancel_reservation(const std::string& id);
  // Turns the reservation `req->id` (its slots now hold the prompt's KV) into a running request
  // that decodes from here: `first_token` (sampled by the prefill side) is its first output; the
  // prompt enters the radix cache as after a local prefill; cached_tokens (what the prefill side
  // reused) is reported in its result. A first token that ends the request finishes it at once.
  // kFailedPrecondition without a reservation of the prompt's length; kAlreadyExists when running.
  Status add_prefilled(std::unique_ptr<Request> req, int32_t first_token, int32_t cached_tokens,
                       TimePoint now = Clock::now());

  RadixCache& cache() { return cache_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Running {
    std::unique_ptr<Request> req;
    std::vector<int32_t> seq;    // prompt + output: the tokens the context is made of
    std::vector<int32_t> slots;  // KV slots of seq[0, slots.size())
    int32_t cached_len = 0;      // slots[0, cached_len) belong to the radix cache
    int32_t reused_len = 0;      // prompt tokens matched in the cache at admission (usage report)
    int32_t fill_len = 0;        // tokens to prefill (seq.size() at admission)
    TreeNode* locked = nullptr;  // node pinned for the cached prefix (nullptr: none)
    uint64_t admitted_order = 0; // admission counter: newest = largest
    bool prefilling() const { return static_cast<int32_t>(slots.size()) < fill_len; }
  };

  Scheduler(SlotAllocator& allocator, SchedulerConfig config,
            std::unique_ptr<SchedulePolicy> policy);

  // Slots usable now without eviction (respects max_total_tokens).
  int32_t available() const;
  // Allocates n slots into out, evicting radix leaves first when needed. False when impossible.
  bool allocate(int32_t n, std::vector<int32_t>& out);
  // THE release point: unlocks the prefix node; on finish inserts the computed KV into the radix
  // cache (returning duplicates and the unaligned tail to the pool), otherwise returns the own
  // slots.
  void release_kv(Running& r, bool cache_it);
  // After a prefill chunk: puts the computed, page-aligned prefix into the radix cache and pins it
  // (the request now holds the cache's node instead of owning those slots), so requests arriving
  // meanwhile, parallel samples and a retracted resume reuse it (SGLang's cache_unfinished_req).
  void cache_prefix(Running& r);
  void emit(Request& req, int32_t cached_tokens);
  void terminate(std::unique_ptr<Running> r, RequestState state, FinishReason reason, bool cache_it,
                 TimePoint now);
  void retract(std::unique_ptr<Running> r, TimePoint now);
  std::unique_ptr<Running> take_running(const std::string& id);
  bool admit_one(Request* req, int32_t& budget, StepPlan& plan, TimePoint now);
  // In-batch prefix sharing: true when `req` shares at least in_batch_prefix_min tokens beyond what
  // the cache holds with a request admitted in this step. It then waits one step and reuses that
  // request's computed (and cached) prefix instead of computing the same tokens alongside it.
  bool shares_uncached_prefix(const Request& req,
                              std::span<const std::vector<int32_t>* const> admitted);
  void plan_chunk(Running& r, int32_t& budget, StepPlan& plan);
  // Policy "priority": when the most important waiting request cannot be admitted (running limit
  // or memory), retract strictly lower-priority running requests until it can.
  void preempt_for_priority(TimePoint now);
  bool is_stop(const Request& req, int32_t token) const;

  SlotAllocator& allocator_;
  SchedulerConfig config_;
  std::unique_ptr<SchedulePolicy> policy_;
  RadixCache cache_;
  WaitingQueue queue_;
  std::vector<std::unique_ptr<Running>> running_;  // admission order
  // Disaggregated decode: slots reserved per request id for KV arriving from a prefill worker.
  std::unordered_map<std::string, std::vector<int32_t>> reserved_;
  std::vector<RequestResult> results_;
  int32_t total_tokens_ = 0;
  uint64_t step_ = 0;
  uint64_t admitted_ = 0;
  bool in_flight_ = false;
};

}  // namespace tandem::scheduler
