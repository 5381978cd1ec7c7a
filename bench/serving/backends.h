// The backend implementations behind make_backend_factory (backend.h). Internal to this library.
#pragma once

#include "bench/serving/backend.h"

namespace tandem::bench {

BackendFactory make_http_backend_factory(const BackendOptions& options);  // http_backend.cc
BackendFactory make_grpc_backend_factory(const BackendOptions& options);  // grpc_backend.cc

}  // namespace tandem::bench
