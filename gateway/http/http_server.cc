#include "gateway/http/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "common/check.h"
#include "gateway/http/connection.h"
#include "gateway/http/server_state.h"

namespace tandem::gateway::http {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

struct HttpServer::Acceptor {
  explicit Acceptor(asio::io_context& io)
      : io(io), strand(asio::make_strand(io)), acceptor(strand) {}
  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
};

namespace {

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<HttpServer::Acceptor> acc) {
  for (;;) {
    auto [ec, socket] =
        co_await acc->acceptor.async_accept(asio::make_strand(acc->io), as_tuple(use_awaitable));
    if (ec) {
      if (!acc->acceptor.is_open() || state->shutting_down.load()) break;
      // Out of descriptors and the like: wait a moment instead of spinning.
      spdlog::warn("http: accept failed: {}; retrying in 50 ms", ec.message());
      asio::steady_timer t(acc->strand, std::chrono::milliseconds(50));
      co_await t.async_wait(as_tuple(use_awaitable));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), state);
    asio::co_spawn(conn->stream().get_executor(), [conn]() { return conn->run(); },
                   [](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("http: connection ended by exception: {}", ex.what());
                     } catch (...) {
                       spdlog::error("http: connection ended by unknown exception");
                     }
                   });
  }
  std::lock_guard lock(state->mu);
  state->accepting = false;
  state->cv.notify_all();
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerConfig config)
    : io_(io), state_(std::make_shared<ServerState>()), acceptor_(std::make_shared<Acceptor>(io)) {
  state_->config = std::move(config);
}

HttpServer::~HttpServer() {
  if (started_ && !shut_down_) shutdown(std::chrono::milliseconds(0));
}

void HttpServer::route(std::string method, std::string path, Handler handler) {
  CHECK(!started_, "route({} {}) after start(): routes are fixed once the server runs", method,
        path);
  state_->router.add(std::move(method), std::move(path), std::move(handler));
}

bool HttpServer::shutting_down() const { return state_->shutting_down.load(); }

Status HttpServer::start() {
  CHECK(!started_, "HttpServer::start() called twice");
  const ServerConfig& cfg = state_->config;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(cfg.host, ec);
  if (ec) {
    return invalid_argument("http: host '{}' is not an IP address ({}); use e.g. 0.0.0.0 or "
                            "127.0.0.1",
                            cfg.host, ec.message());
  }
  tcp::endpoint endpoint(address, cfg.port);
  tcp::acceptor& a = acceptor_->acceptor;
  if (a.open(endpoint.protocol(), ec); ec) {
    return internal_error("http: cannot open a socket for {}:{}: {}", cfg.host, cfg.port,
                          ec.message());
  }
  a.set_option(asio::socket_base::reuse_address(true), ec);
  if (boost::system::error_code bind_ec; a.bind(endpoint, bind_ec), bind_ec) {
    a.close(ec);
    if (bind_ec == asio::error::address_in_use) {
      return make_status(StatusCode::kAlreadyExists,
                         "http: port {} on {} is already in use; stop the other process or pick "
                         "another --port",
                         cfg.port, cfg.host);
    }
    return make_status(StatusCode::kUnavailable, "http: cannot bind {}:{}: {}", cfg.host,
                       cfg.port, bind_ec.message());
  }
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) {
    std::string why = ec.message();
    a.close(ec);
    return make_status(StatusCode::kUnavailable, "http: cannot listen on {}:{}: {}", cfg.host,
                       cfg.port, why);
  }
  port_ = a.local_endpoint().port();
  started_ = true;
  {
    std::lock_guard lock(state_->mu);
    state_->accepting = true;
  }
  asio::co_spawn(acceptor_->strand, accept_loop(state_, acceptor_), asio::detached);
  spdlog::info("http: listening on {}:{}", cfg.host, port_);
  return Status::Ok();
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  if (!started_ || shut_down_) return;
  CHECK(!io_.get_executor().running_in_this_thread(),
        "HttpServer::shutdown() called on an io_context thread; it blocks until connections "
        "close and would deadlock; call it from another thread");
  shut_down_ = true;
  state_->shutting_down.store(true);
  asio::post(acceptor_->strand, [acc = acceptor_] {
    boost::system::error_code ec;
    acc->acceptor.close(ec);
  });

  std::unique_lock lock(state_->mu);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  state_->cv.wait_until(lock, deadline, [&] { return state_->active_handlers == 0; });
  if (state_->active_handlers > 0) {
    spdlog::warn("http: {} handler(s) still running after the {} ms grace; closing their "
                 "connections",
                 state_->active_handlers, grace.count());
  }
  for (auto& [id, weak] : state_->connections) {
    if (auto conn = weak.lock()) conn->close();
  }
  // Closing makes every pending read and write fail at once, so this wait is short unless
  // a handler ignores disconnected(); bound it so shutdown always returns.
  bool done = state_->cv.wait_for(lock, std::chrono::seconds(5), [&] {
    return state_->connections.empty() && !state_->accepting;
  });
  if (!done) {
    spdlog::warn("http: {} connection(s) still open 5 s after close; giving up waiting",
                 state_->connections.size());
  }
  spdlog::info("http: server on port {} shut down", port_);
}

}  // namespace tandem::gateway::http
