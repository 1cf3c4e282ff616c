#include "server/completion_job.h"

#include "server/chat_message_json.h"

#include <spdlog/spdlog.h>

#include "server/api_error.h"
#include "server/sse.h"

namespace ig::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json bytes_of(const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(static_cast<int>(c));
    return b;
}

json chat_logprob_entry(const Tokenizer& tok, const SampledToken& st) {
    const std::string piece = tok.token_to_piece(st.token, true);
    json top = json::array();
    for (const TokenLogprob& t : st.top) {
        const std::string p = tok.token_to_piece(t.token, true);
        top.push_back({{"token", p}, {"logprob", t.logprob}, {"bytes", bytes_of(p)}});
    }
    return {{"token", piece},
            {"logprob", st.logprob},
            {"bytes", bytes_of(piece)},
            {"top_logprobs", std::move(top)}};
}

json empty_completion_logprobs() {
    return {{"tokens", json::array()},
            {"token_logprobs", json::array()},
            {"top_logprobs", json::array()},
            {"text_offset", json::array()}};
}

// Appends one position to completions-style logprobs; `offset` is the
// position's character offset in the generated text.
void add_completion_logprob(json& lp, const Tokenizer& tok, const SampledToken& st,
                            int64_t& offset) {
    const std::string piece = tok.token_to_piece(st.token, true);
    lp["tokens"].push_back(piece);
    lp["token_logprobs"].push_back(st.logprob);
    json top = json::object();
    for (const TokenLogprob& t : st.top) top[tok.token_to_piece(t.token, true)] = t.logprob;
    lp["top_logprobs"].push_back(std::move(top));
    lp["text_offset"].push_back(offset);
    offset += static_cast<int64_t>(piece.size());
}

// The error a choice ended with when the server ended it: a generation error
// (500), or shutdown / a deadline cutting it off (503, retry elsewhere). A
// client's own cancel (no reason given) is no failure: nobody reads it.
std::optional<ApiError> server_failure(FinishReason r, const std::string& why) {
    if (r == FinishReason::Error) {
        ApiError e;
        e.status = 500;
        e.type = "server_error";
        e.code = "generation_error";
        e.message = why.empty() ? "generation failed" : why;
        return e;
    }
    if (r == FinishReason::Cancelled && !why.empty()) {
        ApiError e;
        e.status = 503;
        e.type = "service_unavailable";
        e.code = "request_cancelled";
        e.message = fmt::format("the request was cut off: {}", why);
        return e;
    }
    return std::nullopt;
}

// The request's finish reason: the most severe of its choices'.
std::string overall_finish(const std::vector<std::string>& reasons) {
    for (const char* r : {"error", "abort", "length", "stop"})
        for (const std::string& x : reasons)
            if (x == r) return r;
    return reasons.empty() ? std::string("abort") : reasons.front();
}

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

CompletionJob::CompletionJob(JobSpec spec, std::shared_ptr<Engine> engine,
                             std::shared_ptr<const Tokenizer> tokenizer,
                             std::vector<SubmittedPrompt> prompts,
                             std::shared_ptr<ServerCounters> counters,
                             std::chrono::nanoseconds setup_time,
                             std::shared_ptr<ServerMetrics> metrics)
    : spec_(std::move(spec)),
      engine_(std::move(engine)),
      tok_(std::move(tokenizer)),
      prompts_(std::move(prompts)),
      counters_(std::move(counters)),
      choices_(prompts_.size() * static_cast<size_t>(spec_.n)),
      cached_tokens_(prompts_.size(), 0),
      overhead_(setup_time),
      metrics_(std::move(metrics)) {
    counters_->in_flight.fetch_add(1);
    counters_->requests_total.fetch_add(1);
    if (spec_.logprobs)
        for (Choice& c : choices_)
            c.logprobs = spec_.chat ? json::array() : empty_completion_logprobs();
    if (spec_.output_parser)
        for (Choice& c : choices_) c.parser = spec_.output_parser();
}

CompletionJob::~CompletionJob() {
    for (SubmittedPrompt& p : prompts_) p.stream->set_notify({});
    if (commit_) {
        // The ledger may still call back: it must find no wake to call.
        std::lock_guard lk(commit_->mu);
        commit_->wake = nullptr;
    }
    if (!finished_) cancel();
    // Abandoned (client gone, server stopping): 499 as nginx logs it. Its
    // usage is still recorded (nobody waits for that commit).
    const int status = started_stream_ ? 200 : 499;
    if (!appended_) append_usage(status, "", /*wait=*/false);
    if (!recorded_) record(status, "");
    counters_->overhead_ns_total.fetch_add(static_cast<uint64_t>(overhead_.count()));
    counters_->in_flight.fetch_sub(1);
}

void CompletionJob::start(std::function<void()> wake) {
    wake_ = wake;  // the ledger's commit wakes the job too
    for (SubmittedPrompt& p : prompts_) p.stream->set_notify(wake);
    // Events pushed before the notifier was set are picked up by this wake.
    wake();
}

void CompletionJob::cancel() {
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    counters_->cancelled_total.fetch_add(1);
    for (SubmittedPrompt& p : prompts_) engine_->cancel(p.request_id);
}

bool CompletionJob::all_done() const {
    for (const Choice& c : choices_)
        if (!c.done) return false;
    return true;
}

json CompletionJob::chunk_base() const {
    json j = {{"id", spec_.id},
              {"object", spec_.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", spec_.created},
              {"model", spec_.model},
              {"system_fingerprint", nullptr}};
    if (spec_.include_usage) j["usage"] = nullptr;
    return j;
}

json CompletionJob::usage_json() const {
    int64_t prompt = 0, cached = 0, completion = 0;
    for (size_t i = 0; i < prompts_.size(); ++i) {
        prompt += prompts_[i].prompt_tokens;
        cached += cached_tokens_[i];
    }
    for (const Choice& c : choices_) completion += c.completion_tokens;
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

// Folds one engine event into its choice; when streaming, appends the SSE
// chunk for it to `events`.
void CompletionJob::absorb(int32_t prompt_index, StreamEvent& ev, std::string* events) {
    const size_t idx = static_cast<size_t>(prompt_index) * static_cast<size_t>(spec_.n) +
                       static_cast<size_t>(ev.choice);
    if (ev.choice < 0 || idx >= choices_.size()) return;
    Choice& c = choices_[idx];
    if (c.done) return;
    c.completion_tokens += static_cast<int64_t>(ev.tokens.size());
    spec_.lease.charge_generated(static_cast<int64_t>(ev.tokens.size()));
    cached_tokens_[static_cast<size_t>(prompt_index)] =
        std::max(cached_tokens_[static_cast<size_t>(prompt_index)], ev.usage.cached_tokens);
    c.text += ev.text;
    if (!ev.tokens.empty()) {
        if (c.last_token) {
            metrics_->observe_inter_token(
                std::chrono::duration<double>(ev.time - *c.last_token).count());
        } else {  // this choice's first token
            const double ttft = std::chrono::duration<double>(ev.time - spec_.received).count();
            metrics_->observe_ttft(ttft);
            if (!ttft_) ttft_ = ttft;
        }
        c.last_token = ev.time;
    }

    json lp_delta;
    if (spec_.logprobs && !ev.logprobs.empty()) {
        if (spec_.chat) {
            json content = json::array();
            for (const SampledToken& st : ev.logprobs)
                content.push_back(chat_logprob_entry(*tok_, st));
            for (const json& e : content) c.logprobs.push_back(e);
            lp_delta = {{"content", std::move(content)}};
        } else {
            lp_delta = empty_completion_logprobs();
            for (const SampledToken& st : ev.logprobs) {
                int64_t offset = c.text_offset;
                add_completion_logprob(lp_delta, *tok_, st, offset);
                add_completion_logprob(c.logprobs, *tok_, st, c.text_offset);
            }
        }
    }
    // The answer as the client sees it: read by the output parser (tool
    // calls, reasoning), or all of it content.
    ChatDelta delta;
    if (c.parser) {
        delta = c.parser->feed(ev.text);
        if (ev.finish) append_delta(delta, c.parser->finish());
        if (spec_.single_tool_call)
            std::erase_if(delta.tool_calls, [](const ToolCallDelta& t) { return t.index > 0; });
        merge_delta(c.message, delta);
    } else {
        delta.content = ev.text;
    }
    if (ev.finish) {
        c.finish_time = ev.time;
        c.timings = ev.timings;
        c.done = true;
        c.finish_reason = std::string(finish_reason_name(*ev.finish));
        // A choice that ends by itself after a tool call asks for the tools to run.
        if (c.parser && c.parser->saw_tool_call() && *ev.finish == FinishReason::Stop)
            c.finish_reason = "tool_calls";
        c.failure = server_failure(*ev.finish, ev.error);
    }
    if (!events) return;
    if (delta.empty() && lp_delta.is_null() && !ev.finish) return;
    // A failed choice's last chunk carries its text but no finish_reason; the
    // error event after it tells the client why it ended.
    const bool finish_ok = ev.finish && !c.failure;
    json chunk = chunk_base();
    json choice = {{"index", idx},
                   {"logprobs", lp_delta},
                   {"finish_reason", finish_ok ? json(c.finish_reason) : json()}};
    if (spec_.chat) {
        choice["delta"] = chat_delta_json(delta);
    } else {
        choice["text"] = ev.text;
    }
    chunk["choices"] = json::array({std::move(choice)});
    if (!delta.empty() || !lp_delta.is_null() || finish_ok) sse::append_json_event(*events, chunk);
    if (ev.finish && c.failure) sse::append_event(*events, error_body(*c.failure));
}

json CompletionJob::full_response() const {
    json choices = json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
        const Choice& c = choices_[i];
        json lp =
            spec_.logprobs ? (spec_.chat ? json{{"content", c.logprobs}} : c.logprobs) : json();
        json ch = {{"index", i}, {"logprobs", std::move(lp)}, {"finish_reason", c.finish_reason}};
        if (spec_.chat)
            ch["message"] = c.parser ? chat_message_json(c.message)
                                     : json{{"role", "assistant"}, {"content", c.text}};
        else
            ch["text"] = c.text;
        choices.push_back(std::move(ch));
    }
    return {{"id", spec_.id},
            {"object", spec_.chat ? "chat.completion" : "text_completion"},
            {"created", spec_.created},
            {"model", spec_.model},
            {"system_fingerprint", nullptr},
            {"choices", std::move(choices)},
            {"usage", usage_json()}};
}

JobOutput CompletionJob::poll() {
    const auto t0 = Clock::now();
    JobOutput out;
    if (finished_) return out;
    if (commit_) {
        bool done = false;
        {
            std::lock_guard lk(commit_->mu);
            done = commit_->done;
        }
        return done ? release() : out;
    }
    std::string events;
    std::string* sink = spec_.stream ? &events : nullptr;
    if (spec_.stream && !started_stream_) {
        started_stream_ = true;
        out.start_stream = true;
        out.stream_headers.emplace_back("X-Request-Id", spec_.request_id);
        for (const auto& h : spec_.headers) out.stream_headers.push_back(h);
        if (spec_.chat) {
            for (size_t i = 0; i < choices_.size(); ++i) {
                json chunk = chunk_base();
                chunk["choices"] =
                    json::array({{{"index", i},
                                  {"delta", {{"role", "assistant"}, {"content", ""}}},
                                  {"logprobs", nullptr},
                                  {"finish_reason", nullptr}}});
                sse::append_json_event(events, chunk);
            }
        }
    }
    for (size_t p = 0; p < prompts_.size(); ++p)
        for (StreamEvent& ev : prompts_[p].stream->drain())
            absorb(static_cast<int32_t>(p), ev, sink);

    if (all_done()) {
        // The end of the response (a stream's usage chunk and [DONE], or the
        // whole JSON) is withheld until the usage record is committed: a
        // client that saw its request finish will find it in the ledger,
        // whenever the process dies.
        const ApiError* failure = nullptr;
        for (const Choice& c : choices_)
            if (c.failure && (!failure || c.failure->status > failure->status))
                failure = &*c.failure;  // a generation error (500) over a cut-off (503)
        std::string ledger_error = failure ? *failure->code : std::string();
        spec_.lease.release();  // the concurrency slot frees with the last token
        if (spec_.stream) {
            if (spec_.include_usage) {
                json chunk = chunk_base();
                chunk["choices"] = json::array();
                chunk["usage"] = usage_json();
                sse::append_json_event(withheld_chunk_, chunk);
            }
            withheld_chunk_ += sse::kDoneEvent;
            final_status_ = 200;  // sent with the head; the error went in an event
        } else {
            if (failure) {
                withheld_full_ = error_response(*failure, spec_.http_version, 1);
                final_status_ = failure->status;
                final_error_ = *failure->code;
            } else {
                HttpResponse res{http::status::ok, spec_.http_version};
                res.set(http::field::content_type, "application/json");
                res.body() = dump(full_response());
                withheld_full_ = std::move(res);
            }
            withheld_full_->set("X-Request-Id", spec_.request_id);
            for (const auto& [k, v] : spec_.headers) withheld_full_->set(k, v);
        }
        if (!append_usage(final_status_, ledger_error, /*wait=*/true)) {
            JobOutput end = release();
            end.start_stream = out.start_stream;
            end.stream_headers = std::move(out.stream_headers);
            end.chunk = events + end.chunk;
            overhead_ += Clock::now() - t0;
            return end;
        }
    }
    out.chunk = std::move(events);
    overhead_ += Clock::now() - t0;
    return out;
}

JobOutput CompletionJob::release() {
    finished_ = true;
    JobOutput out;
    if (spec_.stream) {
        out.chunk = std::move(withheld_chunk_);
        out.end_stream = true;
    } else {
        out.full = std::move(withheld_full_);
    }
    record(final_status_, final_error_);
    return out;
}

std::string CompletionJob::finish_reason() const {
    std::vector<std::string> reasons;
    for (const Choice& c : choices_) reasons.push_back(c.done ? c.finish_reason : "abort");
    return overall_finish(reasons);
}

tenants::UsageRecord CompletionJob::usage_record(int status, const std::string& error_code) const {
    tenants::UsageRecord r;
    r.request_id = spec_.id;
    r.client_request_id = spec_.request_id;
    r.tenant = spec_.billing_tenant.empty() ? spec_.tenant : spec_.billing_tenant;
    r.key_id = spec_.key_id;
    r.model = spec_.model;
    r.endpoint = spec_.chat ? "chat" : "completions";
    r.stream = spec_.stream;
    // The same sums as the `usage` the client is sent.
    for (size_t i = 0; i < prompts_.size(); ++i) {
        r.prompt_tokens += prompts_[i].prompt_tokens;
        r.cached_tokens += cached_tokens_[i];
    }
    for (const Choice& c : choices_) r.completion_tokens += c.completion_tokens;
    r.status = status;
    r.finish_reason = finish_reason();
    r.error_code = error_code;
    if (r.finish_reason == "error" && r.error_code.empty()) r.error_code = "generation_error";
    r.received_at = spec_.received_unix_ms;
    r.finished_at = unix_ms_now();
    return r;
}

bool CompletionJob::append_usage(int status, const std::string& error_code, bool wait) {
    if (appended_ || !spec_.ledger) return false;
    appended_ = true;
    auto commit = std::make_shared<Commit>();
    commit->wake = wait ? wake_ : nullptr;
    // A failed commit (disk full, IO error) still ends the response: the
    // client has its tokens, and refusing them now would not un-spend them.
    // It is counted (infergrid_usage_ledger_errors_total) and logged.
    auto on_error = [counters = counters_, id = spec_.id](const Error& e) {
        counters->ledger_errors_total.fetch_add(1);
        spdlog::error("usage ledger: request {} not recorded: {}", id, e.message);
    };
    Status st = spec_.ledger->append(usage_record(status, error_code),
                                     [commit, gate = spec_.wake_gate, on_error](Status s) {
                                         if (!s.ok()) on_error(s.error());
                                         std::lock_guard lk(commit->mu);
                                         commit->done = true;
                                         commit->status = std::move(s);
                                         if (!commit->wake) return;
                                         if (!gate) return commit->wake();
                                         std::lock_guard glk(gate->mu);
                                         if (gate->open) commit->wake();
                                     });
    if (!st.ok()) {
        on_error(st.error());
        return false;
    }
    if (wait) commit_ = std::move(commit);
    return wait;
}

}  // namespace ig::server

namespace ig::server {

void CompletionJob::record(int status, std::string error_type) {
    if (recorded_) return;
    recorded_ = true;
    const auto now = Clock::now();
    RequestRecord r;
    r.request_id = spec_.request_id;
    r.tenant = spec_.tenant;
    r.user = spec_.user;
    r.endpoint = spec_.chat ? "chat" : "completions";
    r.stream = spec_.stream;
    r.status = status;
    r.error_type = std::move(error_type);
    r.finish_reason = finish_reason();
    if (r.finish_reason == "error" && r.error_type.empty()) r.error_type = "generation_error";
    for (size_t i = 0; i < prompts_.size(); ++i) {
        r.prompt_tokens += prompts_[i].prompt_tokens;
        r.cached_tokens += cached_tokens_[i];
    }
    for (const Choice& c : choices_) r.completion_tokens += c.completion_tokens;
    r.ttft_seconds = ttft_;
    r.e2e_seconds = std::chrono::duration<double>(now - spec_.received).count();
    // Per sequence (choice of a prompt): engine-side phases, success, lengths, e2e.
    const size_t n = static_cast<size_t>(spec_.n);
    for (size_t i = 0; i < choices_.size(); ++i) {
        const Choice& c = choices_[i];
        const size_t p = i / n;
        if (c.timings) {
            metrics_->observe_phases(*c.timings, c.finish_time, c.completion_tokens);
            if (i == 0 && c.timings->first_scheduled != Clock::time_point{})
                r.queue_seconds =
                    std::chrono::duration<double>(c.timings->first_scheduled - c.timings->arrival)
                        .count();
        }
        const Clock::time_point end = c.done ? c.finish_time : now;
        metrics_->record_sequence(r.tenant, c.done ? c.finish_reason : "abort",
                                  prompts_[p].prompt_tokens, c.completion_tokens,
                                  std::chrono::duration<double>(end - spec_.received).count());
    }
    metrics_->record(r);
    metrics_->count_http(spec_.chat ? "/v1/chat/completions" : "/v1/completions", status);
    if (spec_.request_log) spec_.request_log(request_log_line(r, spec_.model));
}

}  // namespace ig::server
