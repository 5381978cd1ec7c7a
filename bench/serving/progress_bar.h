// A one-line progress bar on stderr ("[=====>     ] 120/300  12.1s  9.9 req/s"), redrawn in place.
// Disabled when asked, or when stderr is not a terminal (logs and CI get no control characters).
//
// Thread model: one thread draws (the runner's first I/O thread, then the caller for finish()).
#pragma once

#include <cstdint>

namespace tandem::bench {

class ProgressBar {
 public:
  ProgressBar(int64_t total, bool wanted);
  bool enabled() const { return enabled_; }
  void draw(int64_t done, double elapsed_s);
  void finish(int64_t done, double elapsed_s);  // last draw + newline

 private:
  int64_t total_;
  bool enabled_;
};

}  // namespace tandem::bench
