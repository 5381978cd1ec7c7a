// Incremental Server-Sent-Events parser: bytes arrive in arbitrary pieces (a TCP read may end in
// the middle of a line, or of a "\r\n"); complete events come out. Only `data:` fields matter to
// OpenAI-style streams; an event's data lines are joined with "\n" as the SSE spec says, comments
// (":...") and other fields are ignored.
//
// Thread model: one parser per response stream, used by one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::bench {

class SseParser {
 public:
  // Feeds the next bytes; appends the data of every event they complete to *events.
  void feed(std::string_view bytes, std::vector<std::string>* events);
  // The stream ended: an event not closed by a blank line is still delivered (servers that end
  // the body right after the last "data: ...\n" line).
  void finish(std::vector<std::string>* events);

 private:
  void take_line(std::string_view line, std::vector<std::string>* events);

  std::string partial_line_;
  std::string data_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous piece ended with '\r'; a leading '\n' belongs to it
};

}  // namespace tandem::bench
