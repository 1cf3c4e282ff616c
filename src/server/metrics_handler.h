#pragma once
// GET /metrics: engine and server counters in the Prometheus text format.
// A placeholder the metrics work replaces with histograms (TTFT, ITL, ...).
#include <string>

#include "engine/engine.h"
#include "server/server_counters.h"

namespace ig::server {

std::string render_metrics(const EngineStats& engine, const ServerCounters& server,
                           int64_t open_connections, bool ready);

}  // namespace ig::server
