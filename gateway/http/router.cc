#include "gateway/http/router.h"

#include <fmt/format.h>

#include "gateway/openai/errors.h"

namespace tandem::gateway::http {

void Router::add(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

boost::asio::awaitable<void> Router::dispatch(HttpRequest& req, ResponseWriter& writer) const {
  auto path_it = routes_.find(req.path);
  if (path_it == routes_.end()) {
    co_await writer.send_error(openai::not_found_error(req.method, req.path));
    co_return;
  }
  auto method_it = path_it->second.find(req.method);
  if (method_it == path_it->second.end()) {
    std::string allow;
    for (const auto& [method, _] : path_it->second) {
      allow += allow.empty() ? method : ", " + method;
    }
    // Built outside the co_await: GCC 12 miscompiles braced initializers in coroutine calls.
    Headers extra;
    extra.emplace_back("Allow", std::move(allow));
    co_await writer.send_error(openai::method_not_allowed_error(req.method, req.path),
                               std::move(extra));
    co_return;
  }
  co_await method_it->second(req, writer);
}

}  // namespace tandem::gateway::http
