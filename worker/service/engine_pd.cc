// The engine thread's half of prefill/decode disaggregation (worker/pd/ has the transport).
//
// Prefill engine: a request waits (kBootstrap) until the decode side's Reserve for its room
// arrived — the decode side reserves its KV before anything is computed here — then runs through
// the scheduler as a max_new_tokens = 1 request (chunked prefill and prefix cache as usual). After
// each forward the rows of its new chunk are gathered into a staging buffer the transport sends
// while the next chunks compute; when the scheduler finishes it, Done carries the first token and
// its terminal event is held until the decode side's Ack. Its prompt KV stays in the radix cache
// like any finished request's.
//
// Decode engine: a request waits in the pre-allocation queue until the scheduler can reserve slots
// for its prompt, then sends Reserve; received rows are scattered into those slots when polled; on
// Done it enters the scheduler already prefilled (Scheduler::add_prefilled), its first token is
// streamed, Ack is sent, and it decodes like any request.
//
// Failures at any stage end the request with kUnavailable "kv transfer failed: ..." (nothing was
// streamed), freeing the reservation / aborting the scheduler request exactly once.
#include <algorithm>

#include "common/check.h"
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "worker/service/engine_impl.h"

namespace tandem::service {

using scheduler::TimePoint;


namespace {

std::string transfer_failed(const std::string& reason) { return "kv transfer failed: " + reason; }

}  // namespace

void Engine::Impl::pd_add(const std::shared_ptr<Group>& g, TimePoint now) {
  const std::string& id = g->input.id;
  PdRoom room;
  room.group = g;
  room.room = g->input.pd->bootstrap_room;
  if (config.role == EngineRole::kPrefill) {
    Status st = config.prefill_transport->open_room(room.room, id);
    room.phase = PdRoom::Phase::kBootstrap;
    pd_rooms.emplace(id, std::move(room));
    if (!st.ok()) pd_fail(id, st.code(), st.message(), now);
    return;
  }
  room.phase = PdRoom::Phase::kPrealloc;
  pd_rooms.emplace(id, std::move(room));
  pd_prealloc.push_back(id);
}

void Engine::Impl::pd_finish(const std::string& id, EngineEvent event) {
  auto it = pd_rooms.find(id);
  CHECK(it != pd_rooms.end(), "pd_finish for {} without a room", id);
  std::shared_ptr<Group> g = it->second.group;
  pd_rooms.erase(it);
  pd_prealloc.erase(std::remove(pd_prealloc.begin(), pd_prealloc.end(), id), pd_prealloc.end());
  finish_sample(g, std::move(event));
}

void Engine::Impl::pd_fail(const std::string& id, StatusCode code, const std::string& message,
                           TimePoint now) {
  auto it = pd_rooms.find(id);
  if (it == pd_rooms.end()) return;
  PdRoom& room = it->second;
  spdlog::warn("request '{}' (room {}): {}", id, room.room, message);
  if (config.role == EngineRole::kDecode) {
    (void)sched->cancel_reservation(id);
    config.decode_transport->close_room(room.room);
  } else {
    config.prefill_transport->close_room(room.room);
  }
  EngineEvent ev;
  ev.id = id;
  ev.finish = FinishReason::kAbort;
  ev.status = code;
  ev.error = message;
  ev.prompt_tokens = static_cast<int32_t>(room.group->input.prompt.size());
  ev.e2e_latency = std::max(Duration::zero(), now - room.group->arrival);
  pd_finish(id, std::move(ev));
}

bool Engine::Impl::pd_abort(const std::string& id, const std::string& reason, TimePoint now) {
  auto it = pd_rooms.find(id);
  if (it == pd_rooms.end()) return false;
  PdRoom& room = it->second;
  EngineEvent ev;
  ev.id = id;
  ev.finish = FinishReason::kAbort;
  ev.error = reason;
  ev.prompt_tokens = static_cast<int32_t>(room.group->input.prompt.size());
  ev.e2e_latency = std::max(Duration::zero(), now - room.group->arrival);
  if (config.role == EngineRole::kDecode) {
    // Not in the scheduler yet (it enters it only once the KV is complete).
    if (room.phase != PdRoom::Phase::kPrealloc) config.decode_transport->abort(room.room, reason);
    (void)sched->cancel_reservation(id);
    pd_finish(id, std::move(ev));
    return true;
  }
  config.prefill_transport->abort(room.room, reason);
  switch (room.phase) {
    case PdRoom::Phase::kRunning:
      // The scheduler aborts it; deliver_results then sees no room and reports a plain abort.
      pd_rooms.erase(it);
      return false;
    case PdRoom::Phase::kAwaitAck:
      ev.prompt_tokens = room.held->prompt_tokens;
      ev.cached_tokens = room.held->cached_tokens;
      pd_finish(id, std::move(ev));
      return true;
    default:
      pd_finish(id, std::move(ev));
      return true;
  }
}

bool Engine::Impl::pd_poll(TimePoint now) {
  const size_t before = pd_rooms.size();
  bool moved = false;
  // Decode: reserve KV for queued requests in arrival order (a request that does not fit blocks
  // those behind it, so a long prompt is not starved by short ones).
  while (config.role == EngineRole::kDecode && !pd_prealloc.empty()) {
    const std::string id = pd_prealloc.front();
    PdRoom& room = pd_rooms.at(id);
    const GenerateInput& in = room.group->input;
    const int32_t n = static_cast<int32_t>(in.prompt.size());
    if (sched->reserve(id, n) == nullptr) break;
    pd_prealloc.pop_front();
    room.phase = PdRoom::Phase::kBootstrap;
    room.received.assign(static_cast<size_t>(n), 0);
    moved = true;
    Status st = config.decode_transport->reserve(
        room.room, {id, pd::bootstrap_endpoint(in.pd->bootstrap_host, in.pd->bootstrap_port), n});
    if (!st.ok()) {
      (void)sched->cancel_reservation(id);
      EngineEvent ev;
      ev.id = id;
      ev.finish = FinishReason::kAbort;
      ev.status = st.code();
      ev.error = st.message();
      ev.prompt_tokens = n;
      pd_finish(id, std::move(ev));
    }
  }
  std::vector<std::string> ids;
  ids.reserve(pd_rooms.size());
  for (const auto& [id, room] : pd_rooms) {
    if (room.phase != PdRoom::Phase::kPrealloc) ids.push_back(id);
  }
  for (const std::string& id : ids) {
    auto it = pd_rooms.find(id);
    if (it == pd_rooms.end()) continue;
    if (config.role == EngineRole::kPrefill) {
      pd_prefill_poll(id, it->second, now);
    } else {
      pd_decode_poll(id, it->second, now);
    }
  }
  return moved || pd_rooms.size() != before;
}

void Engine::Impl::pd_prefill_poll(const std::string& id, PdRoom& room, TimePoint now) {
  pd::PrefillTransport& t = *config.prefill_transport;
  const pd::RoomUpdate u = t.poll(room.room);
  if (u.state == pd::RoomState::kFailed) {
    if (room.phase == PdRoom::Phase::kRunning) {
      // The scheduler frees its KV; deliver_results turns the abort into the failure status.
      room.failure = transfer_failed(u.reason);
      t.close_room(room.room);
      (void)sched->abort(id, now);
      return;
    }
    pd_fail(id, StatusCode::kUnavailable, transfer_failed(u.reason), now);
    return;
  }
  if (room.phase == PdRoom::Phase::kBootstrap && u.state == pd::RoomState::kWaitingForInput) {
    if (u.prompt_len != static_cast<int32_t>(room.group->input.prompt.size())) {
      const std::string why = fmt::format(
          "the decode worker reserved {} tokens for room {} but the prompt has {}; both workers "
          "must get the same request",
          u.prompt_len, room.room, room.group->input.prompt.size());
      t.fail(room.room, why);
      pd_fail(id, StatusCode::kUnavailable, transfer_failed(why), now);
      return;
    }
    room.phase = PdRoom::Phase::kRunning;
    add_sample(room.group, 0, now);
    return;
  }
  if (room.phase == PdRoom::Phase::kAwaitAck && u.state == pd::RoomState::kSuccess) {
    t.close_room(room.room);
    EngineEvent ev = std::move(*room.held);
    pd_finish(id, std::move(ev));
  }
}

void Engine::Impl::pd_send_chunks(const scheduler::StepPlan& plan) {
  for (const scheduler::PlannedSequence& s : plan.sequences) {
    if (s.is_decode) continue;
    auto it = pd_rooms.find(s.request_id);
    if (it == pd_rooms.end() || it->second.phase != PdRoom::Phase::kRunning) continue;
    PdRoom& room = it->second;
    const int32_t end = s.position_start + static_cast<int32_t>(s.new_tokens.size());
    // From the first row not sent yet: the first chunk also carries the prefix this worker took
    // from its radix cache (those rows were computed earlier, by another request).
    if (end <= room.sent) continue;
    std::span<const int32_t> slots(s.context_slots.data() + room.sent, static_cast<size_t>(end - room.sent));
    config.prefill_transport->send_chunk(room.room, kv_rows().gather(slots, room.sent));
    room.sent = end;
  }
}

bool Engine::Impl::pd_prefill_result(EngineEvent& ev) {
  const std::string id = ev.id;  // pd_finish(id, std::move(ev)) must not read a moved-from id
  auto it = pd_rooms.find(id);
  if (it == pd_rooms.end()) return false;  // aborted by the client: a plain abort event
  PdRoom& room = it->second;
  if (!room.failure.empty()) {
    ev.status = StatusCode::kUnavailable;
    ev.error = room.failure;
    pd_finish(id, std::move(ev));
    return true;
  }
  if (ev.finish != FinishReason::kStop && ev.finish != FinishReason::kLength) {
    // A timeout or a scheduler-side refusal: tell the decode side, end with this event.
    config.prefill_transport->fail(room.room, ev.error.empty() ? "the prefill request ended early" : ev.error);
    pd_finish(id, std::move(ev));
    return true;
  }
  CHECK(ev.tokens.size() == 1, "prefill request {} produced {} tokens, expected 1", ev.id, ev.tokens.size());
  CHECK(room.sent == static_cast<int32_t>(room.group->input.prompt.size()),
        "prefill request {} finished with {} of {} prompt rows sent", ev.id, room.sent,
        room.group->input.prompt.size());
  pd::FirstToken first;
  first.token = ev.tokens[0];
  first.cached_tokens = ev.cached_tokens;
  if (!ev.logprobs.empty()) {
    first.has_logprob = true;
    first.logprob = ev.logprobs[0].logprob;
    for (const sampling::TokenLogprob& t : ev.logprobs[0].top_logprobs) {
      first.top_logprobs.emplace_back(t.token, t.logprob);
    }
  }
  config.prefill_transport->send_done(room.room, std::move(first));
  // The wire contract: the prefill side's Complete says "length" (its job, one token, is done).
  ev.finish = FinishReason::kLength;
  ev.matched_stop_token.reset();
  room.held = std::move(ev);
  room.phase = PdRoom::Phase::kAwaitAck;
  return true;
}

void Engine::Impl::pd_decode_poll(const std::string& id, PdRoom& room, TimePoint now) {
  pd::DecodeTransport& t = *config.decode_transport;
  pd::RoomUpdate u = t.poll(room.room);
  const std::vector<int32_t>* slots = sched->reservation(id);
  CHECK(slots != nullptr, "decode request {} in transfer without a reservation", id);
  for (const pd::KvRows& rows : u.chunks) {
    Status st = kv_rows().scatter(rows, *slots);
    if (!st.ok()) {
      const std::string why = fmt::format("bad KV rows from the prefill worker: {}", st.message());
      t.abort(room.room, why);
      pd_fail(id, StatusCode::kUnavailable, transfer_failed(why), now);
      return;
    }
    for (int32_t i = rows.first_token_index; i < rows.first_token_index + rows.num_tokens; ++i) {
      room.received_count += room.received[static_cast<size_t>(i)] ? 0 : 1;
      room.received[static_cast<size_t>(i)] = 1;
    }
    room.phase = PdRoom::Phase::kTransfer;
  }
  if (u.state == pd::RoomState::kFailed) {
    pd_fail(id, StatusCode::kUnavailable, transfer_failed(u.reason), now);
    return;
  }
  if (u.state != pd::RoomState::kSuccess) return;
  const int32_t prompt_len = static_cast<int32_t>(room.group->input.prompt.size());
  if (room.received_count != prompt_len || !u.done) {
    const std::string why = fmt::format("the prefill worker finished room {} with the KV of {} of {} "
                                        "prompt tokens delivered",
                                        room.room, room.received_count, prompt_len);
    t.abort(room.room, why);
    pd_fail(id, StatusCode::kUnavailable, transfer_failed(why), now);
    return;
  }
  // KV complete: the request joins the scheduler as if it had prefilled here.
  const pd::FirstToken& first = *u.done;
  std::shared_ptr<Group> g = room.group;
  Sample s;
  std::unique_ptr<scheduler::Request> req = make_sample(g, 0, g->input.params, s);
  s.last_finish = s.sampler->accept(first.token);
  sampling::SampleResult r{first.token, first.logprob, {}};
  for (const auto& [tok, lp] : first.top_logprobs) r.top_logprobs.push_back({tok, lp});
  if (s.want_logprobs) s.logprobs.push_back(r);
  t.ack(room.room);
  pd_rooms.erase(id);
  Status st = sched->add_prefilled(std::move(req), first.token, first.cached_tokens, now);
  CHECK(st.ok(), "add_prefilled for {} failed: {}", id, st.message());
  const bool want = s.want_logprobs;
  samples.emplace(id, std::move(s));
  EngineEvent ev;
  ev.id = id;
  ev.tokens = {first.token};
  if (want) ev.logprobs = {r};
  g->sink(std::move(ev));
  deliver_results(now);  // a first token that ends the request
}

}  // namespace tandem::service
