// Test support: a real HttpServer on an ephemeral loopback port, run by two io threads, and a
// small blocking client over real sockets.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/http/http_server.h"

namespace tandem::gateway::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Response = bhttp::response<bhttp::string_body>;

// Owns io_context + server + io threads. Routes go in before start().
class TestServer {
 public:
  explicit TestServer(ServerConfig cfg = default_config()) : server_(io_, std::move(cfg)) {}
  ~TestServer() { stop(); }

  static ServerConfig default_config() {
    ServerConfig cfg;
    cfg.port = 0;
    return cfg;
  }

  HttpServer& server() { return server_; }
  uint16_t port() const { return server_.port(); }

  void start() {
    Status st = server_.start();
    ASSERT_TRUE(st.ok()) << st.to_string();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000)) {
    if (stopped_) return;
    stopped_ = true;
    server_.shutdown(grace);
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  HttpServer server_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

// Blocking client on one connection. Every call has a 10 s receive timeout so a bug shows up
// as a failure, not a hung test.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    struct timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void write_raw(const std::string& data) { asio::write(socket_, asio::buffer(data)); }

  void send(bhttp::verb method, const std::string& target, const std::string& body = "",
            unsigned version = 11,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req{method, target, version};
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(socket_, req);
  }

  Response read() {
    Response res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  Response request(bhttp::verb method, const std::string& target, const std::string& body = "") {
    send(method, target, body);
    return read();
  }

  // True when the server closed the connection (EOF) rather than sending more.
  bool closed_by_server() {
    beast::error_code ec;
    char c;
    if (buffer_.size() > 0) return false;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  tcp::socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buffer_; }
  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

inline boost::json::object error_of(const Response& res) {
  return boost::json::parse(res.body()).as_object().at("error").as_object();
}

}  // namespace tandem::gateway::http::testing
