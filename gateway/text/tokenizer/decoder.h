// Decoder: token strings -> text, as HF's decoder chain (ByteLevel, Replace, ByteFallback, Fuse,
// Strip, Metaspace; none = join with spaces), written as a stream. Batch decode() runs the same
// stream, so streaming and batch output agree by construction; the oracle tests check the batch
// output against HF byte for byte.
//
// A chain works on a list of tokens until Fuse (or ByteLevel, whose output is one string) joins
// them; from there on the stages see one long token arriving in chunks, and hold back only what
// a later chunk could still change (a partial Replace pattern, trailing Strip characters, an
// incomplete UTF-8 sequence, an unfinished run of <0xNN> byte tokens).
//
// Thread model: DecoderPipeline is immutable and shared; each DecoderState belongs to one stream
// and one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

class DecoderStage;

class DecoderState {
 public:
  explicit DecoderState(std::vector<std::unique_ptr<DecoderStage>> stages);
  ~DecoderState();
  DecoderState(const DecoderState&) = delete;
  DecoderState& operator=(const DecoderState&) = delete;

  // Appends to *out the text that is final once `token` is known.
  void push(std::string_view token, std::string* out);
  // Flushes every stage; the state is spent afterwards.
  void finish(std::string* out);

 private:
  std::vector<std::unique_ptr<DecoderStage>> stages_;
};

class DecoderPipeline {
 public:
  // UNIMPLEMENTED for chains whose streaming form Tandem lacks (ByteLevel or ByteFallback after
  // Fuse); INVALID_ARGUMENT for malformed steps (empty Replace pattern, multi-char Strip content).
  static StatusOr<DecoderPipeline> create(const std::vector<DecoderStep>& steps);
  std::unique_ptr<DecoderState> start() const;

 private:
  std::vector<DecoderStep> steps_;
};

}  // namespace tandem::text
