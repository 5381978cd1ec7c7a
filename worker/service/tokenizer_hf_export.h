// HF-format tokenizer files made from a GGUF's tokenizer metadata, so gateways that read only
// Hugging Face files (SMG, SGLang's own tokenizer manager) can use a GGUF worker's GetTokenizer
// bundle. The files say what the GGUF says, in HF's vocabulary:
//
//   tokenizer.json          BPE model (tokenizer.ggml.tokens + merges), the pre-tokenizer that
//                           tokenizer.ggml.pre names, byte-level decoder, added_tokens for the
//                           unknown/control/user-defined token types, BOS/EOS template when the
//                           GGUF asks for them (tokenizer.ggml.add_bos_token / add_eos_token)
//   tokenizer_config.json   chat_template, bos/eos/pad/unk tokens, add_bos/eos_token,
//                           model_max_length (<arch>.context_length), added_tokens_decoder
//   special_tokens_map.json bos/eos/pad/unk + the other control tokens
//   generation_config.json  bos/eos/pad ids (eos: eos, eot and eom ids, deduplicated)
//
// Only byte-level BPE vocabularies (tokenizer.ggml.model "gpt2") whose pre-tokenizer has a mapping
// (hf_pre_tokenizer_names()) are exported; anything else is UNIMPLEMENTED naming what is supported
// — the bundle then ships tokenizer.gguf alone, which Tandem's own gateway reads.
//
// Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::model {
class GgufFile;
}

namespace tandem::service {

// (file name, contents) in the order listed above.
using NamedFiles = std::vector<std::pair<std::string, std::string>>;

StatusOr<NamedFiles> export_hf_tokenizer(const model::GgufFile& gguf);

// The tokenizer.ggml.pre values export_hf_tokenizer maps.
std::vector<std::string> hf_pre_tokenizer_names();

}  // namespace tandem::service
