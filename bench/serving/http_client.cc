#include "bench/serving/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <vector>

namespace tandem::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxErrorBody = 2048;

struct Conn {
  explicit Conn(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

}  // namespace

struct HttpClient::Impl {
  asio::io_context& io;
  std::string host, port;
  std::vector<std::unique_ptr<Conn>> idle;
  tcp::resolver::results_type endpoints;
  std::chrono::milliseconds timeout;

  asio::awaitable<StatusOr<std::unique_ptr<Conn>>> open() {
    if (!idle.empty()) {
      std::unique_ptr<Conn> c = std::move(idle.back());
      idle.pop_back();
      co_return c;
    }
    if (endpoints.empty()) {
      tcp::resolver resolver(io);
      auto [ec, results] = co_await resolver.async_resolve(host, port, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return make_status(StatusCode::kUnavailable, "cannot resolve {}:{}: {}", host, port, ec.message());
      endpoints = results;
    }
    auto c = std::make_unique<Conn>(io);
    c->stream.expires_after(timeout);
    auto [ec, ep] = co_await c->stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return make_status(StatusCode::kUnavailable, "cannot connect to {}:{}: {}", host, port, ec.message());
    c->stream.socket().set_option(tcp::no_delay(true));
    co_return c;
  }

  // One attempt on one connection. *stale: the connection failed before any response byte (a
  // closed keep-alive connection), so a retry on a fresh one is safe.
  asio::awaitable<HttpReply> attempt(Conn& c, const http::request<http::string_body>& req,
                                     const std::function<void(std::string_view)>& on_body, bool* stale,
                                     bool* keep) {
    HttpReply reply;
    *stale = false;
    c.stream.expires_after(timeout);  // one budget for the whole exchange
    *keep = false;
    auto [wec, wn] = co_await http::async_write(c.stream, req, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) {
      *stale = true;
      reply.status = make_status(StatusCode::kUnavailable, "sending the request failed: {}", wec.message());
      co_return reply;
    }
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(c.stream, c.buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)hn;
    if (hec) {
      *stale = hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
               hec == asio::error::eof;
      reply.status = make_status(StatusCode::kUnavailable, "reading the response header failed: {}", hec.message());
      co_return reply;
    }
    reply.http_status = static_cast<int>(parser.get().result_int());
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      // read_some, not read: read() would only return once the body buffer is full or the
      // message is done, hiding when each SSE event arrived.
      auto [ec, n] = co_await http::async_read_some(c.stream, c.buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        reply.status = make_status(StatusCode::kUnavailable, "reading the response body failed after HTTP {}: {}",
                                   reply.http_status, ec.message());
        co_return reply;
      }
      const size_t got = sizeof chunk - parser.get().body().size;
      if (got == 0) continue;
      const std::string_view piece(chunk, got);
      if (reply.http_status == 200) {
        on_body(piece);
      } else if (reply.error_body.size() < kMaxErrorBody) {
        reply.error_body.append(piece.substr(0, kMaxErrorBody - reply.error_body.size()));
      }
    }
    *keep = parser.keep_alive();
    c.stream.expires_never();
    co_return reply;
  }
};

HttpClient::HttpClient(asio::io_context& io, std::string host, std::string port, double timeout_s)
    : impl_(new Impl{io, std::move(host), std::move(port), {}, {},
                     std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000))}) {}
HttpClient::~HttpClient() = default;

asio::awaitable<HttpReply> HttpClient::post(std::string target, std::string body,
                                            std::function<void(std::string_view)> on_body) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, impl_->host + ":" + impl_->port);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "text/event-stream, application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  HttpReply reply;
  for (int tries = 0; tries < 2; ++tries) {
    const bool reused = !impl_->idle.empty();
    StatusOr<std::unique_ptr<Conn>> conn = co_await impl_->open();
    if (!conn.ok()) {
      reply.status = conn.status();
      co_return reply;
    }
    bool stale = false, keep = false;
    reply = co_await impl_->attempt(**conn, req, on_body, &stale, &keep);
    if (reply.status.ok() && keep) impl_->idle.push_back(std::move(*conn));
    if (reply.status.ok() || !(stale && reused)) co_return reply;
  }
  co_return reply;
}

StatusOr<std::string> http_get(const std::string& host, const std::string& port, const std::string& target) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port, ec);
  if (!ec) stream.connect(results, ec);
  if (ec) return make_status(StatusCode::kUnavailable, "GET http://{}:{}{}: cannot connect: {}", host, port, target, ec.message());
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host + ":" + port);
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) return make_status(StatusCode::kUnavailable, "GET http://{}:{}{}: {}", host, port, target, ec.message());
  if (res.result_int() != 200) {
    return make_status(StatusCode::kUnavailable, "GET http://{}:{}{} answered HTTP {}: {}", host, port, target,
                       res.result_int(), res.body().substr(0, 500));
  }
  return std::move(res.body());
}

StatusOr<ParsedUrl> parse_base_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return invalid_argument("--base-url must look like http://host:port (https is not supported), got '{}'", url);
  }
  url.remove_prefix(kScheme.size());
  ParsedUrl out;
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(url.substr(slash));
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(authority);
    out.port = "80";
  } else {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty()) return invalid_argument("--base-url '{}' has no host or port", url);
  return out;
}

}  // namespace tandem::bench
