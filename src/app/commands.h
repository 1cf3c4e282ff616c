#pragma once
// Subcommands of the infergrid binary: each file cmd_<name>.cpp registers one
// on the CLI and returns how to run it, so main() stays a list.
#include <CLI/CLI.hpp>

#include <functional>

#include "model_tools/quantize.h"
#include "util/expected.h"
#include "util/thread_pool.h"

namespace ig::app {

struct Command {
    CLI::App* sub = nullptr;
    std::function<int()> run;  // called when `sub` was parsed; returns the exit code
};

// Prints "error: ..." to stderr and returns exit code 1.
int fail(const Error& e);

// quantize and convert: resolves --type, runs `run` printing one line per
// tensor and a summary (cmd_quantize.cpp).
using QuantizeRun = std::function<Expected<QuantizeSummary>(
    QuantMix, ThreadPool&, const std::function<void(const TensorResult&)>&)>;
int run_quantize_like(const std::string& type, int threads, const std::string& out,
                      const QuantizeRun& run);

Command add_generate(CLI::App& app);
Command add_synth(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_detokenize(CLI::App& app);
Command add_quantize(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_chat_template(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_plan(CLI::App& app);
Command add_tenants(CLI::App& app);
Command add_usage(CLI::App& app);
Command add_pull(CLI::App& app);

}  // namespace ig::app
