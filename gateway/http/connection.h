// Connection: one accepted TCP connection, served by one coroutine on its own strand. It reads
// requests one after another (pipelined requests are answered in order), runs the route's
// handler, and while the handler runs keeps a read pending on the socket so a peer that closes
// is noticed (ResponseWriter::disconnected / on_disconnect) even when the handler is not
// writing. Bytes that read brings in (a pipelined next request) are kept for the next parse.
//
// Threads: run() and everything it calls run on the connection's strand; close() may be called
// from any thread (it posts to the strand).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/http/server_state.h"

namespace tandem::gateway::openai {
struct ApiError;
}

namespace tandem::gateway::http {

class ResponseWriter;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

  // Serves requests until the peer closes, a timeout, an error, or close(). Strand only.
  boost::asio::awaitable<void> run();

  // Closes the socket; a handler still running sees disconnected(). Any thread.
  void close();

  // For ResponseWriter (strand only).
  boost::beast::tcp_stream& stream() { return stream_; }
  bool shutting_down() const { return state_->shutting_down.load(); }

 private:
  enum class ReadResult { kRequest, kClosed, kAnswered };
  // Reads one request into `out`; on a bad request answers it (kAnswered) so the caller closes.
  boost::asio::awaitable<ReadResult> read_request(HttpRequest& out);
  // Runs the handler for `req`; true when the connection may carry another request.
  boost::asio::awaitable<bool> serve(HttpRequest& req);
  // The pending read that notices a peer close while a handler runs.
  boost::asio::awaitable<void> watch(ResponseWriter& writer);
  boost::asio::awaitable<void> stop_watching();
  // Answers a request we refuse before routing (413, 431, 400, 503); the connection closes.
  boost::asio::awaitable<void> refuse(const openai::ApiError& error, unsigned version);
  // After refusing a request whose body we did not read: let the client finish sending so it
  // sees our answer instead of a reset.
  boost::asio::awaitable<void> drain_and_close();
  void close_on_strand();

  std::shared_ptr<ServerState> state_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string peer_;
  uint64_t id_ = 0;
  ResponseWriter* current_writer_ = nullptr;  // set while a handler runs
  bool closed_ = false;
  bool watching_ = false;
  bool stop_watch_ = false;
  boost::asio::steady_timer watch_done_;
};

}  // namespace tandem::gateway::http
