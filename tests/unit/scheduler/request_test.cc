// Request state machine: every legal move succeeds and records its timing side effects; every
// illegal move (including leaving a terminal state) CHECK-fails.
#include "scheduler/request.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

namespace tandem::scheduler {
namespace {

using S = RequestState;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + seconds(1000);

std::unique_ptr<Request> make(S reach) {
  auto r = std::make_unique<Request>("r", std::vector<int32_t>{1, 2, 3}, sampling::SamplingParams{},
                                     kT0);
  switch (reach) {
    case S::kQueued:
      break;
    case S::kPrefilling:
      r->transition(S::kPrefilling, kT0);
      break;
    case S::kDecoding:
      r->transition(S::kPrefilling, kT0);
      r->transition(S::kDecoding, kT0);
      break;
    case S::kFinished:
      r->transition(S::kPrefilling, kT0);
      r->transition(S::kFinished, kT0);
      break;
    case S::kAborted:
      r->transition(S::kAborted, kT0);
      break;
  }
  return r;
}

const S kAll[] = {S::kQueued, S::kPrefilling, S::kDecoding, S::kFinished, S::kAborted};

TEST(RequestTest, LegalTransitionTable) {
  std::vector<std::pair<S, S>> legal = {
      {S::kQueued, S::kPrefilling},   {S::kQueued, S::kAborted},    {S::kPrefilling, S::kDecoding},
      {S::kPrefilling, S::kFinished}, {S::kPrefilling, S::kQueued}, {S::kPrefilling, S::kAborted},
      {S::kDecoding, S::kFinished},   {S::kDecoding, S::kQueued},   {S::kDecoding, S::kAborted}};
  int legal_count = 0;
  for (S from : kAll) {
    for (S to : kAll) {
      bool expected = false;
      for (auto& p : legal) expected |= (p.first == from && p.second == to);
      EXPECT_EQ(is_legal_transition(from, to), expected)
          << request_state_name(from) << " -> " << request_state_name(to);
      legal_count += expected;
    }
  }
  EXPECT_EQ(legal_count, 9);
}

TEST(RequestTest, EveryLegalTransitionSucceeds) {
  for (S from : kAll) {
    for (S to : kAll) {
      if (!is_legal_transition(from, to)) continue;
      auto r = make(from);
      ASSERT_EQ(r->state(), from);
      r->transition(to, kT0 + seconds(1));
      EXPECT_EQ(r->state(), to);
    }
  }
}

TEST(RequestDeathTest, IllegalTransitionsCheckFail) {
  EXPECT_DEATH(make(S::kQueued)->transition(S::kDecoding),
               "illegal state transition queued -> decoding");
  EXPECT_DEATH(make(S::kQueued)->transition(S::kFinished), "queued -> finished");
  EXPECT_DEATH(make(S::kQueued)->transition(S::kQueued), "queued -> queued");
  EXPECT_DEATH(make(S::kDecoding)->transition(S::kPrefilling), "decoding -> prefilling");
  EXPECT_DEATH(make(S::kFinished)->transition(S::kQueued), "finished -> queued");
  EXPECT_DEATH(make(S::kFinished)->transition(S::kAborted), "finished -> aborted");
  EXPECT_DEATH(make(S::kAborted)->transition(S::kPrefilling), "aborted -> prefilling");
}

TEST(RequestTest, TimingAndPreemptionCount) {
  Request r("a", {1}, {}, kT0);
  EXPECT_FALSE(r.first_scheduled);
  r.transition(S::kPrefilling, kT0 + seconds(2));
  EXPECT_EQ(r.first_scheduled, kT0 + seconds(2));
  r.append_output(7, kT0 + seconds(3));
  r.transition(S::kDecoding, kT0 + seconds(3));
  r.append_output(8, kT0 + seconds(4));
  EXPECT_EQ(r.first_token, kT0 + seconds(3));
  EXPECT_EQ(r.output, (std::vector<int32_t>{7, 8}));
  // Preempted and re-admitted: first_scheduled keeps the first admission.
  r.transition(S::kQueued, kT0 + seconds(5));
  EXPECT_EQ(r.preemptions, 1);
  r.transition(S::kPrefilling, kT0 + seconds(6));
  EXPECT_EQ(r.first_scheduled, kT0 + seconds(2));
  EXPECT_FALSE(r.finished);
  EXPECT_FALSE(r.is_terminal());
  r.transition(S::kFinished, kT0 + seconds(7));
  EXPECT_EQ(r.finished, kT0 + seconds(7));
  EXPECT_TRUE(r.is_terminal());
}

TEST(RequestTest, Deadlines) {
  Request r("a", {1}, {}, kT0);
  EXPECT_FALSE(r.waiting_deadline());
  EXPECT_FALSE(r.running_deadline());
  r.waiting_timeout = seconds(10);
  r.running_timeout = seconds(30);
  r.queued = kT0 + seconds(1);
  EXPECT_EQ(r.waiting_deadline(), kT0 + seconds(11));
  EXPECT_FALSE(r.running_deadline());  // not scheduled yet
  EXPECT_FALSE(r.running_expired(kT0 + seconds(1000)));
  r.transition(S::kPrefilling, kT0 + seconds(5));
  EXPECT_EQ(r.running_deadline(), kT0 + seconds(35));
  EXPECT_FALSE(r.running_expired(kT0 + seconds(34)));
  EXPECT_TRUE(r.running_expired(kT0 + seconds(35)));
}

}  // namespace
}  // namespace tandem::scheduler
