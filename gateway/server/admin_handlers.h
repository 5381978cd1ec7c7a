// Endpoints other than generation: GET /health, /readiness, /v1/models, /metrics; admin
// GET|POST|DELETE /workers and POST /flush_cache; and the API-key checks every route uses.
#pragma once

#include <optional>

#include "gateway/http/http_request.h"
#include "gateway/http/http_server.h"
#include "gateway/openai/errors.h"

namespace tandem::gateway::server {

class GatewayApp;

// nullopt when the request may pass. Inference routes need the API key (when one is set); admin
// routes need the admin key (or, when none is set, the API key).
std::optional<openai::ApiError> check_api_key(const GatewayApp& app, const http::HttpRequest& req,
                                              bool admin);

void add_admin_routes(GatewayApp& app, http::HttpServer& server);

}  // namespace tandem::gateway::server
