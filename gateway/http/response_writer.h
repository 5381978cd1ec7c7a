// ResponseWriter: how a handler answers one request, either with one complete response (send) or
// with a Server-Sent-Events stream (start_sse / send_event / end_sse), and how it learns that the
// client went away (disconnected / on_disconnect).
//
// Threads: every method runs on the connection's strand, i.e. from the handler coroutine (which
// the server runs there) or from code already on that strand. on_disconnect callbacks run on the
// strand too, at most once. Not thread-safe otherwise.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace tandem::gateway::openai {
struct ApiError;
}

namespace tandem::gateway::http {

class Connection;
using Headers = std::vector<std::pair<std::string, std::string>>;

class ResponseWriter {
 public:
  ResponseWriter(Connection& conn, unsigned version, bool keep_alive, std::string request_id);
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  // One complete response. At most one of send / start_sse per request; a second call is logged
  // and ignored. Write errors mark the writer disconnected (nothing is thrown).
  boost::asio::awaitable<void> send(int status, std::string_view content_type, std::string body,
                                    Headers extra = {});
  boost::asio::awaitable<void> send_json(int status, std::string body, Headers extra = {});
  // The error's http_status with its OpenAI-shaped JSON body.
  boost::asio::awaitable<void> send_error(const openai::ApiError& error, Headers extra = {});

  // 200, text/event-stream, Cache-Control: no-cache, chunked (HTTP/1.1; HTTP/1.0 gets a
  // close-delimited body). False when the client is already gone or the write failed.
  boost::asio::awaitable<bool> start_sse(Headers extra = {});
  // Writes "data: <data>\n\n" as one chunk (a multi-line `data` gets one "data: " line per
  // line). False once the client is gone; then stop sending.
  boost::asio::awaitable<bool> send_event(std::string_view data);
  // The terminating chunk. The server calls it for a handler that returns without it.
  boost::asio::awaitable<void> end_sse();

  bool disconnected() const { return disconnected_; }
  // Runs `cb` once when the peer closes (or the server force-closes the connection). Runs it
  // right away when that already happened.
  void on_disconnect(std::function<void()> cb);

  bool started() const { return state_ != State::kNone; }
  bool streaming() const { return state_ == State::kStreaming; }
  int status() const { return status_; }
  std::size_t bytes_sent() const { return bytes_; }
  // Whether the connection may carry another request after this response.
  bool keep_alive() const { return keep_alive_; }
  const std::string& request_id() const { return request_id_; }

  // Connection-internal: the peer is gone; fires the callbacks once.
  void notify_disconnect();

 private:
  enum class State { kNone, kSent, kStreaming, kEnded };
  boost::asio::awaitable<bool> write_raw(std::string data);

  Connection& conn_;
  unsigned version_;
  bool keep_alive_;
  std::string request_id_;
  State state_ = State::kNone;
  int status_ = 0;
  std::size_t bytes_ = 0;
  bool chunked_ = false;
  bool disconnected_ = false;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace tandem::gateway::http
