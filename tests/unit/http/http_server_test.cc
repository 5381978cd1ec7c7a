// HttpServer over real loopback sockets: routing, errors, keep-alive, limits, exceptions.
#include <stdexcept>

#include "tests/unit/http/test_server.h"

namespace tandem::gateway::http::testing {
namespace {

asio::awaitable<void> hello(HttpRequest&, ResponseWriter& w) {
  co_await w.send(200, "text/plain", "hi");
}

asio::awaitable<void> echo(HttpRequest& req, ResponseWriter& w) {
  boost::json::object o;
  o["method"] = req.method;
  o["path"] = req.path;
  o["query"] = req.query;
  o["body"] = req.body;
  o["request_id"] = req.request_id;
  o["x_custom"] = req.header("x-custom");
  o["peer"] = req.peer;
  co_await w.send_json(200, boost::json::serialize(o));
}

asio::awaitable<void> throws(HttpRequest&, ResponseWriter&) {
  throw std::runtime_error("boom 42");
  co_return;
}

asio::awaitable<void> silent(HttpRequest&, ResponseWriter&) { co_return; }

void add_routes(HttpServer& s) {
  s.route("GET", "/hello", hello);
  s.route("POST", "/echo", echo);
  s.route("GET", "/throw", throws);
  s.route("GET", "/silent", silent);
}

TEST(HttpServer, RoutesByExactPathAndCarriesRequestId) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  EXPECT_NE(ts.port(), 0);
  Client c(ts.port());
  Response r = c.request(bhttp::verb::get, "/hello");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "hi");
  EXPECT_EQ(r[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(r["x-request-id"].size(), 32u);

  c.send(bhttp::verb::post, "/echo?a=1&b=2", "payload", 11,
         {{"X-Custom", "v1"}, {"X-Request-Id", "my-id-7"}});
  r = c.read();
  ASSERT_EQ(r.result_int(), 200);
  auto o = boost::json::parse(r.body()).as_object();
  EXPECT_EQ(o.at("method").as_string(), "POST");
  EXPECT_EQ(o.at("path").as_string(), "/echo");
  EXPECT_EQ(o.at("query").as_string(), "a=1&b=2");
  EXPECT_EQ(o.at("body").as_string(), "payload");
  EXPECT_EQ(o.at("x_custom").as_string(), "v1");
  EXPECT_EQ(o.at("request_id").as_string(), "my-id-7");
  EXPECT_TRUE(o.at("peer").as_string().starts_with("127.0.0.1:"));
  EXPECT_EQ(r["x-request-id"], "my-id-7");
  // Exact match only: a trailing slash is another path.
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello/").result_int(), 404);
}

TEST(HttpServer, UnknownPathIs404AndWrongMethodIs405InOpenAiShape) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  Response r = c.request(bhttp::verb::get, "/nope");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  auto e = error_of(r);
  EXPECT_EQ(e.at("code").as_string(), "not_found");
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_NE(std::string(e.at("message").as_string()).find("/nope"), std::string::npos);

  r = c.request(bhttp::verb::post, "/hello");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(error_of(r).at("code").as_string(), "method_not_allowed");
  EXPECT_EQ(r[bhttp::field::allow], "GET");
  EXPECT_EQ(r["x-request-id"].size(), 32u);
}

TEST(HttpServer, KeepAliveServesSeveralAndPipelinedRequestsInOrder) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").body(), "hi");
  EXPECT_EQ(c.request(bhttp::verb::post, "/echo", "second").result_int(), 200);
  // Three requests in one write; answers come back in the order asked.
  std::string pipelined;
  for (const char* body : {"p1", "p2", "p3"}) {
    pipelined += std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n") + body;
  }
  c.write_raw(pipelined);
  for (const char* body : {"p1", "p2", "p3"}) {
    Response r = c.read();
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(boost::json::parse(r.body()).at("body").as_string(), body);
  }
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/hello", "", 11, {{"Connection", "close"}});
  Response r = c.read();
  EXPECT_EQ(r.body(), "hi");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST(HttpServer, Http10ClosesByDefaultAndKeepsAliveWhenAsked) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  {
    Client c(ts.port());
    c.send(bhttp::verb::get, "/hello", "", 10);
    Response r = c.read();
    EXPECT_EQ(r.version(), 10u);
    EXPECT_EQ(r.body(), "hi");
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(ts.port());
    c.send(bhttp::verb::get, "/hello", "", 10, {{"Connection", "keep-alive"}});
    EXPECT_EQ(c.read().body(), "hi");
    c.send(bhttp::verb::get, "/hello", "", 10, {{"Connection", "keep-alive"}});
    EXPECT_EQ(c.read().body(), "hi");
  }
}

TEST(HttpServer, BodyOverLimitIs413) {
  ServerConfig cfg = TestServer::default_config();
  cfg.max_body_bytes = 1024;
  TestServer ts(cfg);
  add_routes(ts.server());
  ts.start();
  {
    Client c(ts.port());
    EXPECT_EQ(c.request(bhttp::verb::post, "/echo", std::string(1024, 'a')).result_int(), 200);
  }
  Client c(ts.port());
  c.send(bhttp::verb::post, "/echo", std::string(1025, 'a'));
  Response r = c.read();
  EXPECT_EQ(r.result_int(), 413);
  auto e = error_of(r);
  EXPECT_EQ(e.at("code").as_string(), "body_too_large");
  EXPECT_NE(std::string(e.at("message").as_string()).find("1024"), std::string::npos);
  EXPECT_FALSE(r.keep_alive());
}

TEST(HttpServer, LargeBodyOverLimitStillGets413NotAReset) {
  // The server refuses after the header; the client is still sending megabytes. The server
  // drains them so the client reads the 413 instead of a connection reset.
  ServerConfig cfg = TestServer::default_config();
  cfg.max_body_bytes = 64 << 10;
  TestServer ts(cfg);
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::post, "/echo", std::string(4 << 20, 'z'));
  Response r = c.read();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(error_of(r).at("code").as_string(), "body_too_large");
}

TEST(HttpServer, OversizedHeaderIs431) {
  ServerConfig cfg = TestServer::default_config();
  cfg.max_header_bytes = 1024;
  TestServer ts(cfg);
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  c.send(bhttp::verb::get, "/hello", "", 11, {{"X-Big", std::string(2000, 'b')}});
  EXPECT_EQ(c.read().result_int(), 431);
}

TEST(HttpServer, MalformedRequestIs400) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  c.write_raw("GET /hello HTTP/1.1\r\nHost x\r\n\r\n");
  Response r = c.read();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(error_of(r).at("code").as_string(), "invalid_value");
}

TEST(HttpServer, HandlerExceptionBecomes500AndServerKeepsServing) {
  TestServer ts;
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  Response r = c.request(bhttp::verb::get, "/throw");
  EXPECT_EQ(r.result_int(), 500);
  auto e = error_of(r);
  EXPECT_EQ(e.at("code").as_string(), "internal_error");
  EXPECT_NE(std::string(e.at("message").as_string()).find("boom 42"), std::string::npos);
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").body(), "hi");
  // A handler that never answers also gets a 500 rather than a hung client.
  EXPECT_EQ(c.request(bhttp::verb::get, "/silent").result_int(), 500);
}

TEST(HttpServer, IdleKeepAliveConnectionTimesOut) {
  ServerConfig cfg = TestServer::default_config();
  cfg.idle_timeout = std::chrono::milliseconds(200);
  TestServer ts(cfg);
  add_routes(ts.server());
  ts.start();
  Client c(ts.port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").body(), "hi");
  EXPECT_TRUE(c.closed_by_server());
}

TEST(HttpServer, PortInUseIsAClearError) {
  TestServer first;
  first.start();
  asio::io_context io;
  ServerConfig cfg;
  cfg.port = first.port();
  HttpServer second(io, cfg);
  Status st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("already in use"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(std::to_string(first.port())), std::string::npos);

  cfg.host = "not-an-ip";
  cfg.port = 0;
  HttpServer third(io, cfg);
  EXPECT_EQ(third.start().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::gateway::http::testing
