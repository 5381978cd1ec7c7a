// Where tests find the default model and test data. The model is fetched by scripts/setup.sh
// (scripts/fetch_model.sh) into $TANDEM_MODEL_DIR, default ~/.cache/tandem/models.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tandem::testing {

inline std::string source_dir() {
  if (const char* s = std::getenv("TANDEM_SOURCE_DIR"); s && *s) return s;
  return std::filesystem::current_path().string();
}

inline std::string data_path(const std::string& rel) { return source_dir() + "/tests/data/" + rel; }

inline std::string model_dir() {
  if (const char* s = std::getenv("TANDEM_MODEL_DIR"); s && *s) return s;
  if (const char* s = std::getenv("TANDEM_HOME"); s && *s) return std::string(s) + "/models";
  if (const char* s = std::getenv("XDG_CACHE_HOME"); s && *s) return std::string(s) + "/tandem/models";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.cache/tandem/models";
}

// The bundled default model. Tests that need it fail (not skip) when it is missing, with a hint.
inline std::string default_model_path() { return model_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"; }

}  // namespace tandem::testing
