// SSE streaming, client-disconnect detection and graceful shutdown over real sockets.
#include <atomic>
#include <future>

#include "tests/unit/http/test_server.h"

namespace tandem::gateway::http::testing {
namespace {

using namespace std::chrono_literals;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Streams events "0".."n-1" (n from the query, default 5), `gap` apart.
Handler counting_stream(std::chrono::milliseconds gap) {
  return [gap](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
    int n = req.query.empty() ? 5 : std::stoi(req.query.substr(2));
    Headers extra;
    extra.emplace_back("X-Stream", "yes");
    if (!co_await w.start_sse(std::move(extra))) co_return;
    for (int i = 0; i < n; ++i) {
      if (gap.count() > 0) co_await sleep_for(gap);
      if (!co_await w.send_event(std::to_string(i))) co_return;
    }
    co_await w.end_sse();
  };
}

std::string expected_events(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "data: " + std::to_string(i) + "\n\n";
  return s;
}

TEST(HttpStreaming, SseEventsArriveInOrderAsChunkedEventStream) {
  TestServer ts;
  ts.server().route("GET", "/stream", counting_stream(0ms));
  ts.start();
  Client c(ts.port());
  Response r = c.request(bhttp::verb::get, "/stream?n=50");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[bhttp::field::content_type], "text/event-stream");
  EXPECT_EQ(r[bhttp::field::cache_control], "no-cache");
  EXPECT_EQ(r[bhttp::field::transfer_encoding], "chunked");
  EXPECT_EQ(r["X-Stream"], "yes");
  EXPECT_EQ(r["x-request-id"].size(), 32u);
  EXPECT_EQ(r.body(), expected_events(50));
  // The terminating chunk leaves the connection usable.
  EXPECT_EQ(c.request(bhttp::verb::get, "/stream?n=2").body(), expected_events(2));
}

TEST(HttpStreaming, MultiLineEventDataGetsOneDataLinePerLine) {
  TestServer ts;
  ts.server().route("GET", "/lines", [](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.start_sse();
    co_await w.send_event("a\nb");
    co_await w.send_event("[DONE]");
  });  // the server ends the stream the handler left open
  ts.start();
  Client c(ts.port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/lines").body(), "data: a\ndata: b\n\ndata: [DONE]\n\n");
}

TEST(HttpStreaming, Http10StreamIsCloseDelimited) {
  TestServer ts;
  ts.server().route("GET", "/stream", counting_stream(0ms));
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/stream?n=3", "", 10);
  Response r = c.read();
  EXPECT_EQ(r.body(), expected_events(3));
  EXPECT_TRUE(r[bhttp::field::transfer_encoding].empty());
}

struct DisconnectProbe {
  std::promise<void> callback_ran;
  std::promise<int> send_failed_after;  // events sent before send_event returned false
  std::atomic<int> callbacks{0};
};

TEST(HttpStreaming, ClientDisconnectMidStreamFiresCallbackAndFailsSend) {
  auto probe = std::make_shared<DisconnectProbe>();
  TestServer ts;
  ts.server().route("GET", "/forever",
                    [probe](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
                      w.on_disconnect([probe] {
                        if (probe->callbacks.fetch_add(1) == 0) probe->callback_ran.set_value();
                      });
                      if (!co_await w.start_sse()) co_return;
                      int sent = 0;
                      while (co_await w.send_event("tick")) {
                        ++sent;
                        co_await sleep_for(5ms);
                      }
                      EXPECT_TRUE(w.disconnected());
                      probe->send_failed_after.set_value(sent);
                    });
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/forever");
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(c.socket(), c.buffer(), parser);
  while (parser.get().body().size() < 3 * std::string("data: tick\n\n").size()) {
    bhttp::read_some(c.socket(), c.buffer(), parser);
  }
  c.close();
  auto cb = probe->callback_ran.get_future();
  auto sent = probe->send_failed_after.get_future();
  ASSERT_EQ(cb.wait_for(5s), std::future_status::ready) << "on_disconnect never ran";
  ASSERT_EQ(sent.wait_for(5s), std::future_status::ready) << "send_event kept returning true";
  EXPECT_GE(sent.get(), 3);
  EXPECT_EQ(probe->callbacks.load(), 1);
}

TEST(HttpStreaming, ClientDisconnectDuringNonStreamingHandlerIsNoticed) {
  auto ran = std::make_shared<std::promise<void>>();
  auto noticed = std::make_shared<std::promise<bool>>();
  TestServer ts;
  ts.server().route("POST", "/slow",
                    [ran, noticed](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
                      w.on_disconnect([ran] { ran->set_value(); });
                      // A handler waiting on a worker: no writes until it has an answer.
                      for (int i = 0; i < 500 && !w.disconnected(); ++i) co_await sleep_for(10ms);
                      noticed->set_value(w.disconnected());
                      co_await w.send(200, "text/plain", "late");
                    });
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::post, "/slow", "x");
  std::this_thread::sleep_for(50ms);
  c.close();
  auto f = ran->get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto n = noticed->get_future();
  ASSERT_EQ(n.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(n.get());
}

TEST(HttpStreaming, OnDisconnectAfterTheFactRunsImmediately) {
  auto result = std::make_shared<std::promise<bool>>();
  TestServer ts;
  ts.server().route("GET", "/late",
                    [result](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    for (int i = 0; i < 500 && !w.disconnected(); ++i) co_await sleep_for(10ms);
    bool ran = false;
    w.on_disconnect([&ran] { ran = true; });
    result->set_value(ran);
    co_return;
  });
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/late");
  std::this_thread::sleep_for(30ms);
  c.close();
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST(HttpStreaming, GracefulShutdownFinishesInFlightStreamAndRefusesNewRequests) {
  TestServer ts;
  ts.server().route("GET", "/stream", counting_stream(30ms));
  ts.server().route("GET", "/hello", [](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.send(200, "text/plain", "hi");
  });
  ts.start();
  const uint16_t port = ts.port();

  Client idle(port);  // kept alive, idle when shutdown starts
  EXPECT_EQ(idle.request(bhttp::verb::get, "/hello").body(), "hi");

  Client streaming(port);
  streaming.send(bhttp::verb::get, "/stream?n=10");
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(streaming.socket(), streaming.buffer(), parser);

  std::thread stopper([&] { ts.server().shutdown(10s); });
  while (!ts.server().shutting_down()) std::this_thread::sleep_for(1ms);

  // A new request on a kept-alive connection: 503 and Connection: close.
  Response r = idle.request(bhttp::verb::get, "/hello");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(error_of(r).at("code").as_string(), "shutting_down");
  EXPECT_NE(std::string(error_of(r).at("message").as_string()).find("server is shutting down"),
            std::string::npos);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(idle.closed_by_server());

  // A new connection is not accepted any more.
  std::this_thread::sleep_for(50ms);
  EXPECT_THROW(Client{port}, boost::system::system_error);

  // The stream that was running finishes completely.
  bhttp::read(streaming.socket(), streaming.buffer(), parser);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().body(), expected_events(10));
  // Its header went out before shutdown (keep-alive), but the server closes after it.
  EXPECT_TRUE(streaming.closed_by_server());
  stopper.join();
}

TEST(HttpStreaming, ShutdownGraceExpiryClosesAStuckStream) {
  auto gone = std::make_shared<std::promise<void>>();
  TestServer ts;
  ts.server().route("GET", "/stuck",
                    [gone](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    w.on_disconnect([gone] { gone->set_value(); });
    co_await w.start_sse();
    while (!w.disconnected()) co_await sleep_for(10ms);
  });
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/stuck");
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(c.socket(), c.buffer(), parser);
  auto t0 = std::chrono::steady_clock::now();
  ts.server().shutdown(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(gone->get_future().wait_for(1s), std::future_status::ready);
}

}  // namespace
}  // namespace tandem::gateway::http::testing
