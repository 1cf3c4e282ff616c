#include "engine/stop_checker.h"

#include <algorithm>
#include <utility>

namespace ig {

StopChecker::StopChecker(std::vector<std::string> stops, bool include_stop_str)
    : include_(include_stop_str) {
    for (auto& s : stops) {
        if (s.empty()) continue;  // matches everywhere; the server rejects it, here it is ignored
        max_len_ = std::max(max_len_, s.size());
        stops_.push_back(std::move(s));
    }
}

StopChecker::Result StopChecker::push(std::string_view delta) {
    Result r;
    if (stopped_) {
        r.stopped = true;
        return r;
    }
    if (stops_.empty()) {
        r.text.assign(delta);
        return r;
    }
    // pending_ never holds a whole stop string, so any match ends inside delta;
    // searching pending_ + delta (pending_ is shorter than the longest stop)
    // finds it without rescanning earlier text.
    pending_.append(delta);
    size_t best_start = std::string::npos, best_end = std::string::npos;
    for (const auto& s : stops_) {
        const size_t pos = pending_.find(s);
        if (pos == std::string::npos) continue;
        const size_t end = pos + s.size();
        // Earliest end wins; on equal ends, the earlier start (the longer stop).
        if (end < best_end || (end == best_end && pos < best_start)) {
            best_start = pos;
            best_end = end;
        }
    }
    if (best_end != std::string::npos) {
        r.text = pending_.substr(0, include_ ? best_end : best_start);
        r.stopped = stopped_ = true;
        pending_.clear();
        return r;
    }
    // Hold back the longest suffix that is a proper prefix of some stop.
    const size_t n = pending_.size();
    size_t hold = 0;
    for (size_t len = std::min(n, max_len_ - 1); len > 0 && hold == 0; --len) {
        const std::string_view tail(pending_.data() + (n - len), len);
        for (const auto& s : stops_) {
            if (s.size() > len && std::string_view(s).substr(0, len) == tail) {
                hold = len;
                break;
            }
        }
    }
    r.text = pending_.substr(0, n - hold);
    pending_.erase(0, n - hold);
    return r;
}

std::string StopChecker::flush() {
    if (stopped_) return {};
    return std::exchange(pending_, {});
}

}  // namespace ig
