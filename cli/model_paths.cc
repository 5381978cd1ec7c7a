#include "cli/model_paths.h"

#include <cstdlib>

namespace tandem::cli {

std::string default_model_path() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v && *v ? v : "";
  };
  if (std::string m = env("TANDEM_MODEL"); !m.empty()) return m;
  std::string dir = env("TANDEM_MODEL_DIR");
  if (dir.empty() && !env("TANDEM_HOME").empty()) dir = env("TANDEM_HOME") + "/models";
  if (dir.empty() && !env("XDG_CACHE_HOME").empty()) dir = env("XDG_CACHE_HOME") + "/tandem/models";
  if (dir.empty()) dir = (env("HOME").empty() ? std::string("/root") : env("HOME")) + "/.cache/tandem/models";
  return dir + "/" + kDefaultModelFile;
}

}  // namespace tandem::cli
