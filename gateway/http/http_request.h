// HttpRequest: one parsed HTTP request as handlers see it. Plain value type; the connection that
// read it owns it for the handler's lifetime.
#pragma once

#include <map>
#include <string>

namespace tandem::gateway::http {

struct HttpRequest {
  std::string method;        // "GET", "POST", ... as sent (upper case by convention)
  std::string path;          // target before '?', not percent-decoded
  std::string query;         // target after '?', without the '?'; empty when none
  std::map<std::string, std::string> headers;  // lower-case names; repeated fields joined by ", "
  std::string body;
  std::string request_id;    // x-request-id header when sent, else generated (32 hex digits)
  std::string peer;          // "ip:port" of the client
  unsigned version = 11;     // 10 = HTTP/1.0, 11 = HTTP/1.1
  bool keep_alive = true;    // what the client asked for (HTTP/1.1 default, Connection header)

  // Header value or empty. `name` must be lower case.
  const std::string& header(const std::string& name) const {
    static const std::string kEmpty;
    auto it = headers.find(name);
    return it == headers.end() ? kEmpty : it->second;
  }
};

}  // namespace tandem::gateway::http
