#include "gateway/http/connection.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/random_id.h"
#include "gateway/http/response_writer.h"
#include "gateway/openai/errors.h"

namespace tandem::gateway::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::size_t kReadChunk = 16 << 10;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void fill_request(bhttp::request<bhttp::string_body>&& msg, const std::string& peer,
                  HttpRequest& out) {
  out.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  out.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  for (const auto& field : msg) {
    std::string name = lower(field.name_string());
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) {
      it->second += ", ";
      it->second += field.value();
    }
  }
  out.version = msg.version();
  out.body = std::move(msg.body());
  out.peer = peer;
  const std::string& rid = out.header("x-request-id");
  out.request_id = rid.empty() ? random_hex_id() : rid;
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      stream_(std::move(socket)),
      watch_done_(stream_.get_executor(), asio::steady_timer::time_point::max()) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

void Connection::close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_on_strand(); });
}

void Connection::close_on_strand() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  if (current_writer_ != nullptr) current_writer_->notify_disconnect();
}

asio::awaitable<void> Connection::run() {
  id_ = state_->add_connection(shared_from_this());
  for (;;) {
    HttpRequest req;
    ReadResult r = co_await read_request(req);
    if (r != ReadResult::kRequest) break;
    // Count the handler before looking at the flag: shutdown() sets the flag before it reads the
    // count, so either it waits for this request or this request sees the flag (never neither).
    state_->handler_started();
    if (state_->shutting_down.load()) {
      co_await refuse(openai::shutting_down_error(), req.version);
      state_->handler_finished();
      break;
    }
    bool again = co_await serve(req);
    state_->handler_finished();
    if (!again) break;
  }
  close_on_strand();
  state_->remove_connection(id_);
}

asio::awaitable<Connection::ReadResult> Connection::read_request(HttpRequest& out) {
  const ServerConfig& cfg = state_->config;
  // Idle wait: a kept-alive connection must start its next request within idle_timeout.
  if (buffer_.size() == 0) {
    stream_.expires_after(cfg.idle_timeout);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk),
                                                    as_tuple(use_awaitable));
    if (ec) co_return ReadResult::kClosed;
    buffer_.commit(n);
  }
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(cfg.max_header_bytes);
  parser.body_limit(cfg.max_body_bytes);
  stream_.expires_after(cfg.header_timeout);
  auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer_, parser,
                                                      as_tuple(use_awaitable));
  if (!hec) {
    stream_.expires_after(cfg.body_timeout);
    auto [bec, bn] = co_await bhttp::async_read(stream_, buffer_, parser, as_tuple(use_awaitable));
    hec = bec;
  }
  stream_.expires_never();
  if (hec == bhttp::error::body_limit) {
    co_await refuse(openai::body_too_large_error(cfg.max_body_bytes), 11);
    co_await drain_and_close();
    co_return ReadResult::kAnswered;
  }
  if (hec == bhttp::error::header_limit) {
    openai::ApiError e = openai::invalid_value_error(
        "headers", fmt::format("request header exceeds {} bytes", cfg.max_header_bytes));
    e.http_status = 431;
    co_await refuse(e, 11);
    co_return ReadResult::kAnswered;
  }
  if (hec == beast::error::timeout || hec == bhttp::error::end_of_stream ||
      hec == asio::error::eof || hec == asio::error::connection_reset ||
      hec == asio::error::operation_aborted || closed_) {
    co_return ReadResult::kClosed;
  }
  if (hec) {
    co_await refuse(openai::invalid_value_error("request", "malformed HTTP request: " +
                                                                hec.message()),
                    11);
    co_return ReadResult::kAnswered;
  }
  auto msg = parser.release();
  out.keep_alive = msg.keep_alive();
  fill_request(std::move(msg), peer_, out);
  co_return ReadResult::kRequest;
}

asio::awaitable<bool> Connection::serve(HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  ResponseWriter writer(*this, req.version, req.keep_alive, req.request_id);
  current_writer_ = &writer;

  // The watcher runs beside the handler on this strand; both touch only strand state.
  watching_ = true;
  stop_watch_ = false;
  asio::co_spawn(stream_.get_executor(), watch(writer), asio::detached);

  std::string failure;
  try {
    co_await state_->router.dispatch(req, writer);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    spdlog::error("http: handler for {} {} threw: {} (request_id={})", req.method, req.path,
                  failure, req.request_id);
    if (!writer.started() && !writer.disconnected()) {
      co_await writer.send_error(openai::internal_error("internal error while handling " +
                                                        req.path + ": " + failure));
    }
  }
  if (!writer.started() && !writer.disconnected()) {
    spdlog::error("http: handler for {} {} returned without a response (request_id={})",
                  req.method, req.path, req.request_id);
    co_await writer.send_error(openai::internal_error("handler produced no response"));
  }
  if (writer.streaming()) co_await writer.end_sse();

  co_await stop_watching();
  current_writer_ = nullptr;

  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start).count();
  spdlog::info("http {} {} {} {}B {:.1f}ms peer={} request_id={}{}", req.method, req.path,
               writer.status(), writer.bytes_sent(), ms, peer_, req.request_id,
               writer.disconnected() ? " (client disconnected)" : "");
  co_return writer.keep_alive() && !writer.disconnected() && !closed_;
}

asio::awaitable<void> Connection::watch(ResponseWriter& writer) {
  // Keep the connection alive while this coroutine runs; serve() waits for it anyway.
  auto self = shared_from_this();
  // Bound what a client may pipeline while we are busy; past it we stop reading (TCP pushes
  // back) and only notice a close at the next read.
  const std::size_t limit = state_->config.max_body_bytes + state_->config.max_header_bytes;
  while (!stop_watch_ && buffer_.size() < limit) {
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk),
                                                    as_tuple(use_awaitable));
    if (!ec) {
      buffer_.commit(n);
      continue;
    }
    // Our own cancel (stop_watching) is not a disconnect; anything else (eof, reset) is.
    if (!stop_watch_) writer.notify_disconnect();
    break;
  }
  watching_ = false;
  watch_done_.cancel();
}

asio::awaitable<void> Connection::stop_watching() {
  stop_watch_ = true;
  if (!watching_) co_return;
  beast::error_code ec;
  stream_.socket().cancel(ec);
  watch_done_.expires_at(asio::steady_timer::time_point::max());
  while (watching_) {
    co_await watch_done_.async_wait(as_tuple(use_awaitable));
  }
}

asio::awaitable<void> Connection::refuse(const openai::ApiError& error, unsigned version) {
  ResponseWriter writer(*this, version, /*keep_alive=*/false, random_hex_id());
  co_await writer.send_error(error);
  spdlog::info("http refused {} {}B peer={}: {}", writer.status(), writer.bytes_sent(), peer_,
               error.message);
}

asio::awaitable<void> Connection::drain_and_close() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  // Read and drop what the client is still sending, bounded in time and bytes.
  stream_.expires_after(std::chrono::seconds(2));
  std::size_t drained = 0;
  std::array<char, 16 << 10> scratch;
  while (drained < (64u << 20)) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(scratch),
                                                     as_tuple(use_awaitable));
    if (rec) break;
    drained += n;
  }
  stream_.expires_never();
}

}  // namespace tandem::gateway::http
