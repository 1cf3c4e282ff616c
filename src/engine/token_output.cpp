#include "engine/token_output.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace ig {

StreamEvent append_token(Sequence& s, RequestState& r, SampledToken st, const Tokenizer* tok,
                         int64_t n_ctx) {
    const auto now = std::chrono::steady_clock::now();
    const StopParams& sp = r.req.stop;
    const int32_t t = st.token;
    s.tokens.push_back(t);
    s.sampler->accept(t);
    // The mask let only allowed tokens through; a refusal here is a bug.
    const bool grammar_broken = s.grammar && !s.grammar->accept(t);
    ++r.completion_tokens;
    if (!s.times.first_token) s.times.first_token = now;

    StreamEvent ev;
    ev.choice = s.choice;
    ev.tokens.push_back(t);
    ev.time = now;
    if (r.req.sampling.logprobs) ev.logprobs.push_back(std::move(st));

    const int64_t n_gen = s.num_generated();
    const bool may_stop = n_gen > sp.min_tokens;
    const bool eos = tok && !sp.ignore_eos && tok->is_eog(t);
    const bool stop_id =
        std::find(sp.stop_token_ids.begin(), sp.stop_token_ids.end(), t) != sp.stop_token_ids.end();

    // Releases everything held back (decoder bytes, stop-string suffixes).
    auto flush = [&](std::string& text) {
        if (s.decoder) {
            StopChecker::Result res = s.stop->push(s.decoder->flush());
            text += res.text;
            if (res.stopped) return;
        }
        text += s.stop->flush();
    };

    if (may_stop && (eos || stop_id)) {
        flush(ev.text);  // the stop token itself adds no text
        ev.finish = FinishReason::Stop;
    } else {
        StopChecker::Result res =
            s.stop->push(s.decoder ? s.decoder->push(t, r.req.render_special) : std::string());
        ev.text = std::move(res.text);
        if (res.stopped) {
            ev.finish = FinishReason::Stop;
        } else if (grammar_broken) {
            flush(ev.text);
            ev.finish = FinishReason::Error;
            ev.error = "internal error: the sampled token breaks the grammar";
        } else if (s.grammar && s.grammar->complete()) {
            // The grammar is complete: nothing but the end may follow.
            flush(ev.text);
            ev.finish = FinishReason::Stop;
        } else if (n_gen >= sp.max_tokens || static_cast<int64_t>(s.tokens.size()) >= n_ctx) {
            flush(ev.text);
            ev.finish = FinishReason::Length;
        }
    }
    if (ev.finish) {
        s.times.finish = now;
        ev.timings = request_timings(s.times);
    }
    ev.usage = r.usage();
    return ev;
}

RequestTimings request_timings(const SeqTimes& t) {
    RequestTimings out;
    out.arrival = t.arrival;
    out.first_scheduled = t.first_scheduled.value_or(SeqTimes::TimePoint{});
    out.first_token = t.first_token.value_or(SeqTimes::TimePoint{});
    return out;
}

StreamEvent final_event(const RequestState& r, int32_t choice, FinishReason reason,
                        std::string error) {
    StreamEvent ev;
    // A choice not forked yet shares its parent's (choice 0's) history.
    const Sequence* seq = nullptr;
    for (const auto& s : r.seqs)
        if (s->choice == choice || (!seq && s->choice == 0)) seq = s.get();
    if (seq) ev.timings = request_timings(seq->times);
    ev.choice = choice;
    ev.finish = reason;
    ev.error = std::move(error);
    ev.usage = r.usage();
    ev.time = std::chrono::steady_clock::now();
    return ev;
}

}  // namespace ig
