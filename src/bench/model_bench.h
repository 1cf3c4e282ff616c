#pragma once
// The `model` workload of `infergrid bench engine`: forward-pass speed
// without the engine (pp512, tg128, batched decode at 1/4/16/64), memory
// bandwidth, and decode efficiency = tg128 x weight bytes per token / bandwidth.
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "bench/engine_bench.h"

namespace ig {

Expected<nlohmann::json> run_bench_model(const BenchEngineOptions& o, std::ostream& out);

}  // namespace ig
