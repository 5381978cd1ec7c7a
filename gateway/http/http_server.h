// HttpServer: the gateway's HTTP/1.1 server. Boost.Asio + C++20 coroutines, run by however many
// threads call io_context::run(); each connection lives on its own strand, so a connection's
// handler and its ResponseWriter never race. Beast stays out of this header.
//
// Life cycle: construct, route() every endpoint, start(), run the io_context on N threads,
// shutdown(grace) from a thread that is not running the io_context, then stop the io_context.
//
// Threads: route() and start() before the io threads serve traffic (one thread); port() and
// shutting_down() thread-safe; shutdown() from any thread except an io_context thread (it blocks
// until the server is done and would deadlock the loop it waits on).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/status.h"
#include "gateway/http/http_request.h"
#include "gateway/http/response_writer.h"
#include "gateway/http/router.h"
#include "gateway/http/server_config.h"

namespace tandem::gateway::http {

struct ServerState;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerConfig config);
  ~HttpServer();  // calls shutdown(0) if start() succeeded and shutdown() was not called
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact-path route. Other methods on a routed path get 405, unknown paths 404.
  void route(std::string method, std::string path, Handler handler);

  // Binds and listens, then accepts on the io_context. Errors (address in use, bad host) come
  // back as Status with the address in the message.
  Status start();
  // The bound port (the ephemeral one when config.port was 0); 0 before start().
  uint16_t port() const { return port_; }
  bool shutting_down() const;

  // Graceful shutdown: stop accepting; requests that arrive on kept-alive connections get 503
  // "server is shutting down" + Connection: close; running handlers get up to `grace` to finish;
  // then every connection is closed (handlers still running see disconnected()). Returns when
  // all connections are gone. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  struct Acceptor;  // implementation detail (http_server.cc); public only for the accept loop

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<Acceptor> acceptor_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace tandem::gateway::http
