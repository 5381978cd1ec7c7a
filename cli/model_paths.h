// Where the bundled default model lives: $TANDEM_MODEL, else $TANDEM_MODEL_DIR, $TANDEM_HOME/models
// or ~/.cache/tandem/models (filled by scripts/fetch_model.sh, which the README's set-up runs).
#pragma once

#include <string>

namespace tandem::cli {

inline constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

std::string default_model_path();

}  // namespace tandem::cli
