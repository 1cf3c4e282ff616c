#pragma once
// One accepted /v1/chat/completions or /v1/completions request: drains the
// engine's streams and turns their events into OpenAI responses, either SSE
// chunks as tokens arrive or one JSON document at the end.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_output_parser.h"
#include "engine/engine.h"
#include "server/api_error.h"
#include "server/http_types.h"
#include "server/server_counters.h"
#include "server/server_metrics.h"
#include "tenants/tenant_limiter.h"
#include "tenants/usage_ledger.h"
#include "tokenizer/tokenizer.h"

namespace ig::server {

// Closed by ApiServer::stop() before the IO context goes away, so that a
// ledger commit that lands later wakes no connection.
struct WakeGate {
    std::mutex mu;
    bool open = true;
};

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
    // The usage ledger (null: none). `billing_tenant` is what it records:
    // the key's tenant id (never folded into "other"), else the label above;
    // `key_id` the key's id (empty without keys).
    std::shared_ptr<tenants::UsageLedger> ledger;
    std::shared_ptr<WakeGate> wake_gate;
    std::string billing_tenant;
    std::string key_id;
    int64_t received_unix_ms = 0;
    // The tenant's hold on its limits: generated tokens are charged to it as
    // they stream, and it is released when the job ends (client gone
    // included). Holds nothing without keys or limits.
    tenants::Lease lease;
    // Extra fields of the response head (x-ratelimit-*), streamed or not.
    std::vector<std::pair<std::string, std::string>> headers;
    // Chat: reads each choice's answer into content, reasoning_content and
    // tool_calls (null: all of it is content).
    std::function<std::unique_ptr<ChatOutputParser>()> output_parser;
    // parallel_tool_calls: false: a choice answers with one call at most
    // (under tool_choice auto the model may write more; they are dropped).
    bool single_tool_call = false;
    // The served model while the job runs: a model with jobs is never
    // unloaded (ModelSet counts the holders).
    std::shared_ptr<const void> model_hold;
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
        std::unique_ptr<ChatOutputParser> parser;  // with JobSpec::output_parser
        ParsedMessage message;                     // what the parser read so far
    };

    void absorb(int32_t prompt_index, StreamEvent& ev, std::string* events);
    nlohmann::json chunk_base() const;
    nlohmann::json usage_json() const;
    nlohmann::json full_response() const;
    bool all_done() const;
    // Metrics and the log line, once, when the response is complete (or abandoned).
    void record(int status, std::string error_type);
    std::string finish_reason() const;
    tenants::UsageRecord usage_record(int status, const std::string& error_code) const;
    // Appends the usage record (once). With `wait`, the commit wakes the job;
    // false when it is not pending (no ledger, or append refused).
    bool append_usage(int status, const std::string& error_code, bool wait);
    // The commit of the usage record, shared with the ledger's callback,
    // which may outlive the job.
    struct Commit {
        std::mutex mu;
        bool done = false;
        Status status;
        std::function<void()> wake;  // cleared when the job goes
    };
    // The withheld end of the response, once its usage record is committed.
    JobOutput release();

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
    std::function<void()> wake_;
    bool appended_ = false;           // the usage record went to the ledger (or was refused)
    std::shared_ptr<Commit> commit_;  // set while the response waits for the commit
    // What poll() sends once the commit is in: a stream's usage chunk and
    // [DONE], or the whole response; with the status the request ended with.
    std::string withheld_chunk_;
    std::optional<HttpResponse> withheld_full_;
    int final_status_ = 200;
    std::string final_error_;
};

}  // namespace ig::server
