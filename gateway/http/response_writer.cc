#include "gateway/http/response_writer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/http/connection.h"
#include "gateway/openai/errors.h"

namespace tandem::gateway::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

ResponseWriter::ResponseWriter(Connection& conn, unsigned version, bool keep_alive,
                               std::string request_id)
    : conn_(conn), version_(version), keep_alive_(keep_alive), request_id_(std::move(request_id)) {}

void ResponseWriter::on_disconnect(std::function<void()> cb) {
  if (disconnected_) {
    cb();
    return;
  }
  callbacks_.push_back(std::move(cb));
}

void ResponseWriter::notify_disconnect() {
  if (disconnected_) return;
  disconnected_ = true;
  // Move out first: a callback may register another one, which then runs right away.
  auto callbacks = std::move(callbacks_);
  callbacks_.clear();
  for (auto& cb : callbacks) cb();
}

asio::awaitable<bool> ResponseWriter::write_raw(std::string data) {
  if (disconnected_) co_return false;
  auto [ec, n] = co_await asio::async_write(conn_.stream(), asio::buffer(data),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec) {
    notify_disconnect();
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> ResponseWriter::send(int status, std::string_view content_type,
                                           std::string body, Headers extra) {
  if (started()) {
    spdlog::error("http: second response for request {} dropped (status {})", request_id_,
                  status);
    co_return;
  }
  state_ = State::kSent;
  status_ = status;
  // A server that is shutting down closes every connection after the response in flight.
  if (conn_.shutting_down()) keep_alive_ = false;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version_};
  res.set(bhttp::field::server, "tandem");
  res.set(bhttp::field::content_type, content_type);
  res.set("x-request-id", request_id_);
  for (auto& [name, value] : extra) res.set(name, value);
  res.keep_alive(keep_alive_);
  bytes_ = body.size();
  res.body() = std::move(body);
  res.prepare_payload();
  if (disconnected_) co_return;
  auto [ec, n] = co_await bhttp::async_write(conn_.stream(), res,
                                             asio::as_tuple(asio::use_awaitable));
  if (ec) notify_disconnect();
}

asio::awaitable<void> ResponseWriter::send_json(int status, std::string body, Headers extra) {
  co_await send(status, "application/json", std::move(body), std::move(extra));
}

asio::awaitable<void> ResponseWriter::send_error(const openai::ApiError& error, Headers extra) {
  co_await send(error.http_status, "application/json", error.to_json(), std::move(extra));
}

asio::awaitable<bool> ResponseWriter::start_sse(Headers extra) {
  if (started()) {
    spdlog::error("http: start_sse after a response for request {}", request_id_);
    co_return false;
  }
  state_ = State::kStreaming;
  status_ = 200;
  if (conn_.shutting_down()) keep_alive_ = false;
  // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
  chunked_ = version_ >= 11;
  if (!chunked_) keep_alive_ = false;
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, version_};
  res.set(bhttp::field::server, "tandem");
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("x-request-id", request_id_);
  for (auto& [name, value] : extra) res.set(name, value);
  res.keep_alive(keep_alive_);
  if (chunked_) res.chunked(true);
  if (disconnected_) co_return false;
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  auto [ec, n] = co_await bhttp::async_write_header(conn_.stream(), sr,
                                                    asio::as_tuple(asio::use_awaitable));
  if (ec) {
    notify_disconnect();
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> ResponseWriter::send_event(std::string_view data) {
  if (state_ != State::kStreaming || disconnected_) co_return false;
  // SSE ends a field at a newline, so each line of `data` becomes its own "data:" line (the
  // client joins them back with '\n'). JSON payloads have no raw newlines: one line.
  std::string event;
  event.reserve(data.size() + 8);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = data.find('\n', start);
    event += "data: ";
    event += data.substr(start, nl == std::string_view::npos ? nl : nl - start);
    event += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  event += '\n';
  bytes_ += event.size();
  if (!chunked_) co_return co_await write_raw(std::move(event));
  co_return co_await write_raw(fmt::format("{:x}\r\n{}\r\n", event.size(), event));
}

asio::awaitable<void> ResponseWriter::end_sse() {
  if (state_ != State::kStreaming) co_return;
  state_ = State::kEnded;
  if (chunked_) co_await write_raw("0\r\n\r\n");
}

}  // namespace tandem::gateway::http
