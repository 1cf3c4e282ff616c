#pragma once
// One accepted /v1/chat/completions or /v1/completions request: drains the
// engine's streams and turns their events into OpenAI responses, either SSE
// chunks as tokens arrive or one JSON document at the end.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/http_types.h"
#include "server/server_counters.h"
#include "server/server_metrics.h"
#include "tenants/tenant_limiter.h"
#include "tokenizer/tokenizer.h"

namespace ig::server {

struct JobSpec {
    bool chat = false;
    bool stream = false;
    bool include_usage = false;
    bool logprobs = false;
    std::string id;  // chatcmpl-... / cmpl-...
    std::string model;
    int64_t created = 0;  // unix seconds
    int32_t n = 1;        // choices per prompt
    unsigned http_version = 11;
    // Observability: X-Request-Id (incoming or `id`), folded tenant label,
    // when the request arrived, and where its log line goes (empty: nowhere).
    std::string request_id;
    std::string tenant = "none";
    std::string user;  // the request's `user` (the client's end user), for the request log
    std::chrono::steady_clock::time_point received{};
    std::function<void(const std::string&)> request_log;
    // The tenant's hold on its limits: generated tokens are charged to it as
    // they stream, and it is released when the job ends (client gone
    // included). Holds nothing without keys or limits.
    tenants::Lease lease;
    // Extra fields of the response head (x-ratelimit-*), streamed or not.
    std::vector<std::pair<std::string, std::string>> headers;
};

// One engine request (one prompt) of the job.
struct SubmittedPrompt {
    std::string request_id;
    std::shared_ptr<RequestStream> stream;
    int64_t prompt_tokens = 0;
};

class CompletionJob : public AsyncJob {
  public:
    CompletionJob(JobSpec spec, std::shared_ptr<Engine> engine,
                  std::shared_ptr<const Tokenizer> tokenizer, std::vector<SubmittedPrompt> prompts,
                  std::shared_ptr<ServerCounters> counters, std::chrono::nanoseconds setup_time,
                  std::shared_ptr<ServerMetrics> metrics);
    ~CompletionJob() override;

    void start(std::function<void()> wake) override;
    JobOutput poll() override;
    void cancel() override;

  private:
    struct Choice {
        std::string text;
        std::string finish_reason;
        // Why the server ended the choice (a generation error: 500; cut off by
        // shutdown or a deadline: 503), sent instead of a finish_reason no
        // OpenAI client knows. Unset for choices that finished normally.
        std::optional<ApiError> failure;
        int64_t completion_tokens = 0;
        bool done = false;
        nlohmann::json logprobs;  // chat: array of entries; completions: the four lists
        int64_t text_offset = 0;
        std::optional<std::chrono::steady_clock::time_point> last_token;  // ITL
        std::chrono::steady_clock::time_point finish_time{};
        std::optional<RequestTimings> timings;
    };

    void absorb(int32_t prompt_index, StreamEvent& ev, std::string* events);
    nlohmann::json chunk_base() const;
    nlohmann::json usage_json() const;
    nlohmann::json full_response() const;
    bool all_done() const;
    // Metrics and the log line, once, when the response is complete (or abandoned).
    void record(int status, std::string error_type);

    JobSpec spec_;
    std::shared_ptr<Engine> engine_;
    std::shared_ptr<const Tokenizer> tok_;
    std::vector<SubmittedPrompt> prompts_;
    std::shared_ptr<ServerCounters> counters_;
    std::vector<Choice> choices_;
    std::vector<int64_t> cached_tokens_;  // per prompt, from the engine's usage
    bool started_stream_ = false;
    bool finished_ = false;
    bool cancelled_ = false;
    std::chrono::nanoseconds overhead_{0};
    std::shared_ptr<ServerMetrics> metrics_;
    std::optional<double> ttft_;  // the request's first token, seconds (for the log)
    bool recorded_ = false;
};

}  // namespace ig::server
