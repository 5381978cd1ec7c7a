// Router: exact (method, path) matching. A known path with another method is 405, an unknown
// path 404; both answered with OpenAI-shaped JSON errors.
//
// Threads: add() before the server starts; find() from any thread afterwards (read-only).
#pragma once

#include <functional>
#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "gateway/http/http_request.h"
#include "gateway/http/response_writer.h"

namespace tandem::gateway::http {

using Handler = std::function<boost::asio::awaitable<void>(HttpRequest&, ResponseWriter&)>;

class Router {
 public:
  // Replaces an earlier handler for the same method and path.
  void add(std::string method, std::string path, Handler handler);

  // Runs the matching handler, or answers 404 / 405 itself.
  boost::asio::awaitable<void> dispatch(HttpRequest& req, ResponseWriter& writer) const;

 private:
  // path -> method -> handler
  std::map<std::string, std::map<std::string, Handler>, std::less<>> routes_;
};

}  // namespace tandem::gateway::http
