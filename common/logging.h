// Logging through spdlog. Components log with spdlog's free functions (spdlog::info(...));
// init_logging sets the level and pattern once at process start (TANDEM_LOG_LEVEL overrides).
#pragma once

#include <string>

namespace tandem {

// level: trace|debug|info|warn|error|off. Thread-safe; call once early in main().
void init_logging(const std::string& level, const std::string& process_name);

}  // namespace tandem
