// A minimal HTTP/1.1 client for the load generator: keep-alive connections reused across
// requests, response bodies handed over piece by piece as they arrive (SSE streams, chunked or
// not). Beast stays in the .cc.
//
// Thread model: one HttpClient per io_context thread; every method runs on that thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem::bench {

struct HttpReply {
  Status status;          // transport errors (connect refused, reset, ...)
  int http_status = 0;    // 0 when no response came
  std::string error_body; // the body when http_status != 200 (first 2 KiB)
};

class HttpClient {
 public:
  // timeout_s: the most one request (connect to last byte) may take; then it fails.
  HttpClient(boost::asio::io_context& io, std::string host, std::string port, double timeout_s);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs a JSON body to target. For a 200 response, on_body gets each body piece when it is read.
  // A reused connection the server had closed is retried once on a fresh one.
  boost::asio::awaitable<HttpReply> post(std::string target, std::string body,
                                         std::function<void(std::string_view)> on_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One blocking GET (set-up only, e.g. GET /v1/models): the body of a 200 response, else an error
// naming the URL and status.
StatusOr<std::string> http_get(const std::string& host, const std::string& port, const std::string& target);

// "http://host:port/prefix" -> host, port ("80" when absent), path prefix without trailing '/'.
struct ParsedUrl {
  std::string host, port, path;
};
StatusOr<ParsedUrl> parse_base_url(std::string_view url);

}  // namespace tandem::bench
