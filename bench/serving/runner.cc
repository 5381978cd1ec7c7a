#include "bench/serving/runner.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <future>
#include <random>
#include <thread>

#include "bench/serving/progress_bar.h"

namespace tandem::bench {

namespace asio = boost::asio;
using Slots = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

struct Shared {
  const std::vector<BenchPrompt>& prompts;
  std::vector<RequestRecord>& records;
  std::vector<std::unique_ptr<Backend>>& backends;
  std::unique_ptr<Slots> slots;  // null: no concurrency limit
  BenchClock::time_point origin;
  std::atomic<int64_t> finished{0};
  std::promise<void> all_done;
};

asio::awaitable<void> one_request(Shared& s, size_t i, size_t backend_index) {
  // A slot is a buffered message: sending blocks while max_concurrency are buffered.
  if (s.slots) co_await s.slots->async_send(boost::system::error_code{}, asio::as_tuple(asio::use_awaitable));
  s.records[i] = co_await s.backends[backend_index]->send(s.prompts[i], i, s.origin);
  if (s.slots) s.slots->try_receive([](boost::system::error_code) {});
  if (s.finished.fetch_add(1) + 1 == static_cast<int64_t>(s.prompts.size())) s.all_done.set_value();
}

asio::awaitable<void> dispatch(Shared& s, std::vector<asio::io_context*> ios, RunOptions o) {
  std::mt19937_64 rng(o.seed);
  asio::steady_timer timer(*ios[0]);
  BenchClock::time_point next = BenchClock::now();
  for (size_t i = 0; i < s.prompts.size(); ++i) {
    if (std::isfinite(o.request_rate) && i > 0) {
      // Poisson process: exponential gaps with mean 1 / rate (SGLang draws the same way).
      const double gap = std::exponential_distribution<double>(o.request_rate)(rng);
      next += std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(gap));
      timer.expires_at(next);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    const size_t k = i % ios.size();
    asio::co_spawn(*ios[k], one_request(s, i, k), asio::detached);
  }
}

asio::awaitable<void> draw_progress(Shared& s, asio::io_context& io, ProgressBar& bar) {
  asio::steady_timer timer(io);
  while (s.finished.load() < static_cast<int64_t>(s.prompts.size())) {
    bar.draw(s.finished.load(), seconds_since(s.origin, BenchClock::now()));
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

RunResult run_benchmark(const std::vector<BenchPrompt>& prompts, const BackendFactory& factory,
                        const RunOptions& options) {
  RunResult result;
  result.records.resize(prompts.size());
  if (prompts.empty()) return result;
  const int n = std::max(1, options.client_threads);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::io_context*> io_ptrs;
  std::vector<std::unique_ptr<Backend>> backends;
  for (int k = 0; k < n; ++k) {
    ios.push_back(std::make_unique<asio::io_context>(1));
    io_ptrs.push_back(ios.back().get());
    backends.push_back(factory(*ios.back()));
  }
  Shared s{prompts, result.records, backends, nullptr, BenchClock::now(), {}, {}};
  if (options.max_concurrency > 0) {
    s.slots = std::make_unique<Slots>(*ios[0], static_cast<size_t>(options.max_concurrency));
  }
  std::future<void> done = s.all_done.get_future();
  ProgressBar bar(static_cast<int64_t>(prompts.size()), options.progress);

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& io : ios) guards.push_back(asio::make_work_guard(*io));
  s.origin = BenchClock::now();
  asio::co_spawn(*ios[0], dispatch(s, io_ptrs, options), asio::detached);
  if (bar.enabled()) asio::co_spawn(*ios[0], draw_progress(s, *ios[0], bar), asio::detached);
  std::vector<std::thread> threads;
  for (auto& io : ios) threads.emplace_back([p = io.get()] { p->run(); });
  done.wait();
  result.duration_s = seconds_since(s.origin, BenchClock::now());
  bar.finish(static_cast<int64_t>(prompts.size()), result.duration_s);
  // Every request has finished; what is left (the progress timer) may be dropped.
  for (auto& io : ios) io->stop();
  for (std::thread& t : threads) t.join();
  backends.clear();
  return result;
}

}  // namespace tandem::bench
