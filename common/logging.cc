#include "common/logging.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace tandem {

void init_logging(const std::string& level, const std::string& process_name) {
  std::string lvl = level;
  if (const char* env = std::getenv("TANDEM_LOG_LEVEL"); env && *env) lvl = env;
  auto logger = spdlog::stderr_color_mt(process_name);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(lvl));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] %v");
}

}  // namespace tandem
