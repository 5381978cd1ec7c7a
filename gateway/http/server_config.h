// ServerConfig: listening address, limits and timeouts of the gateway's HTTP server.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tandem::gateway::http {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 30000;  // 0 = an ephemeral port; HttpServer::port() tells which
  uint64_t max_body_bytes = 8ull << 20;  // larger bodies get 413 body_too_large
  uint32_t max_header_bytes = 16 << 10;  // larger headers get 431
  // How long a kept-alive connection may sit without starting a new request.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // How long the client has to send the complete header once a request has started.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // How long the client has to send the body once the header is in.
  std::chrono::milliseconds body_timeout{std::chrono::seconds(60)};
};

}  // namespace tandem::gateway::http
