#pragma once
// Seconds elapsed on the steady clock since t0 (latency observations, rates).
#include <chrono>

namespace ig {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace ig
