#pragma once
// Counters the server keeps about itself (the engine keeps its own), shared
// between the request jobs and the /metrics handler.
#include <atomic>
#include <cstdint>

namespace ig::server {

struct ServerCounters {
    std::atomic<int64_t> in_flight{0};         // generation requests not yet answered
    std::atomic<uint64_t> requests_total{0};   // generation requests accepted
    std::atomic<uint64_t> rejected_total{0};   // 4xx/5xx answers to generation requests
    std::atomic<uint64_t> cancelled_total{0};  // client went away before the end
    // Finished requests whose usage record could not be committed (disk
    // full, IO error, queue full): their responses went out unrecorded.
    std::atomic<uint64_t> ledger_errors_total{0};
    // Time the server spent on generation requests outside the engine:
    // parsing, templating, tokenizing, building and serialising responses.
    std::atomic<uint64_t> overhead_ns_total{0};
};

}  // namespace ig::server
