// `tandem generate`: run prompts (raw text or chat messages) through the engine on this machine and
// stream the text, printing prefill and decode speed. A debugging and quick-check tool.
#pragma once

namespace CLI {
class App;
}

namespace tandem::cli {

// Registers the subcommand on `app`; the callback runs it and sets the exit code.
void add_generate_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
