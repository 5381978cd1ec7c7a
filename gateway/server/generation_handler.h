// The request path of POST /v1/chat/completions, /v1/completions and /generate:
// parse → prepare (template, tokenize, limits) → admission (concurrency limit, bounded queue) →
// worker selection (routing policy) → dispatch (gRPC Generate, retries before the first token) →
// response processing (detokenize, stop strings, reasoning / tool parsers) → SSE or JSON.
// Runs on the connection's strand as a coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/http/http_request.h"
#include "gateway/http/response_writer.h"
#include "gateway/server/request_preparation.h"

namespace tandem::gateway::server {

class GatewayApp;

boost::asio::awaitable<void> handle_generation(GatewayApp& app, http::HttpRequest& req,
                                               http::ResponseWriter& w, ApiKind kind);

}  // namespace tandem::gateway::server
