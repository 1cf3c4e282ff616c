#pragma once
// Text side of stop strings, fed with decoded text deltas.
//
// Matching is byte-wise. The caller feeds complete UTF-8 (the incremental
// detokenizer never splits a character), and every held-back suffix is a
// prefix of a stop string, which is itself valid UTF-8, so emitted text never
// ends in half a character as long as the stop strings are valid UTF-8.
// Only a window of (longest stop - 1) bytes is kept between calls, so a long
// generation costs O(delta * longest stop) per push, not O(total text).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

class StopChecker {
  public:
    StopChecker(std::vector<std::string> stops, bool include_stop_str);
    struct Result {
        std::string text;
        bool stopped = false;
    };
    // Appends delta; returns text safe to emit now (holds back any suffix that could start a stop
    // string) and whether a stop string matched (text then ends before the match, or after it if
    // include_stop_str).
    Result push(std::string_view delta);
    std::string flush();  // generation ended otherwise: release held-back text

  private:
    std::vector<std::string> stops_;  // non-empty ones only
    bool include_ = false;
    bool stopped_ = false;
    size_t max_len_ = 0;
    std::string pending_;  // held back: a suffix that is a proper prefix of some stop string
};

}  // namespace ig
