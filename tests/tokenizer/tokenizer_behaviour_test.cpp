// Special-token gating, streaming decode and malformed input for both
// algorithms (SentencePiece-style: llama-spm; byte-level BPE: gpt-2).
#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/incremental_decoder.h"
#include "util/utf8.h"

namespace ig {
namespace {

std::unique_ptr<Tokenizer> load_vocab(const char* name) {
    const std::string path =
        test::shared_file(std::string("tokenizers/gguf/ggml-vocab-") + name + ".gguf");
    if (!test::exists(path)) return nullptr;
    auto f = GgufFile::open(path);
    if (!f.ok()) return nullptr;
    auto t = load_tokenizer(*f);
    return t.ok() ? std::move(t).value() : nullptr;
}

std::string stream_decode(const Tokenizer& t, const std::vector<int32_t>& ids) {
    IncrementalDecoder dec(t);
    std::string text;
    for (int32_t id : ids) {
        const std::string piece = dec.push(id);
        EXPECT_EQ(utf8::incomplete_tail(piece), 0u);  // never half a character
        EXPECT_EQ(utf8::sanitize(piece), piece);      // always valid UTF-8
        text += piece;
    }
    return text + dec.flush();
}

TEST(Tokenizers, ControlTokensOnlyWithParseSpecialAndWhereAllowed) {
    auto gpt2 = load_vocab("gpt-2");
    auto spm = load_vocab("llama-spm");
    if (!gpt2 || !spm) GTEST_SKIP() << "shared data not present";
    const int32_t eot = gpt2->eos_id();  // <|endoftext|>
    const std::string text = "a<|endoftext|>b";
    const auto plain = gpt2->encode(text);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
    EXPECT_EQ(gpt2->decode(plain), text);  // tokenized as ordinary text
    const auto parsed = gpt2->encode(text, {.parse_special = true});
    EXPECT_EQ(std::count(parsed.begin(), parsed.end(), eot), 1);
    EXPECT_EQ(parsed.size(), 3u);
    EXPECT_TRUE(gpt2->is_eog(eot));

    // special_allowed: the token is only matched where every byte is allowed.
    std::vector<uint8_t> allow(text.size(), 1);
    allow[5] = 0;  // inside "<|endoftext|>"
    const auto gated = gpt2->encode(text, {.parse_special = true, .special_allowed = allow});
    EXPECT_EQ(gated, plain);
    std::vector<uint8_t> short_mask(3, 1);  // covers too little of the text
    EXPECT_EQ(gpt2->encode(text, {.parse_special = true, .special_allowed = short_mask}), plain);

    // SentencePiece-style: </s> is control; the space prefix restarts after it.
    const auto s = spm->encode("Hi</s>Hi", {.add_special = false, .parse_special = true});
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0], s[2]);
    EXPECT_EQ(s[1], spm->eos_id());
    EXPECT_EQ(spm->decode(s), "Hi Hi");
    EXPECT_EQ(spm->decode(s, true), "Hi</s> Hi");
    const auto sp = spm->encode("Hi</s>Hi", {.add_special = false});
    EXPECT_EQ(std::count(sp.begin(), sp.end(), spm->eos_id()), 0);
}

TEST(Tokenizers, EndOfGenerationTokensByText) {
    auto phi3 = load_vocab("phi-3");
    if (!phi3) GTEST_SKIP() << "shared data not present";
    const Vocab& v = phi3->vocab();
    auto id_of = [&](std::string_view s) {
        for (int32_t i = 0; i < v.size(); ++i)
            if (v.tokens[static_cast<size_t>(i)] == s) return i;
        return -1;
    };
    ASSERT_GE(id_of("<|end|>"), 0);
    EXPECT_TRUE(phi3->is_eog(id_of("<|end|>")));
    EXPECT_TRUE(phi3->is_eog(phi3->eos_id()));
    EXPECT_FALSE(phi3->is_eog(id_of("<|user|>")));
    EXPECT_FALSE(phi3->is_eog(id_of("hello")));
    EXPECT_FALSE(phi3->is_eog(-1));
}

TEST(Tokenizers, StreamingNeverSplitsCharacters) {
    auto gpt2 = load_vocab("gpt-2");
    auto spm = load_vocab("llama-spm");
    if (!gpt2 || !spm) GTEST_SKIP() << "shared data not present";
    // Emoji and CJK that the vocabularies only have as byte pieces.
    const std::string text =
        "llama \xF0\x9F\xA6\x99 \xE6\x88\x91\xE6\x83\xB3 caf\xC3\xA9 \xF0\x9F\x98\xB6\xE2\x80\x8D";
    for (const Tokenizer* t : {gpt2.get(), spm.get()}) {
        const auto ids = t->encode(text, {.add_special = false});
        bool partial_piece = false;
        for (int32_t id : ids) partial_piece |= utf8::incomplete_tail(t->token_to_piece(id)) > 0;
        EXPECT_TRUE(partial_piece) << "the text should need byte tokens";
        EXPECT_EQ(stream_decode(*t, ids), text);
    }
    // Continuing a prompt keeps the SentencePiece word space.
    const auto ids = spm->encode("Hello world", {.add_special = false});
    IncrementalDecoder cont(*spm, false);
    std::string s;
    for (int32_t id : ids) s += cont.push(id);
    EXPECT_EQ(s + cont.flush(), " Hello world");
    // A stream cut inside a character flushes a replacement character.
    IncrementalDecoder cut(*gpt2);
    const auto llama = gpt2->encode("\xF0\x9F\xA6\x99", {.add_special = false});
    ASSERT_GT(llama.size(), 1u);
    EXPECT_EQ(cut.push(llama[0]), "");
    const std::string rest = cut.flush();
    EXPECT_FALSE(rest.empty());
    EXPECT_EQ(utf8::sanitize(rest), rest);
}

TEST(Tokenizers, InvalidUtf8AndBadIdsAreHandled) {
    auto gpt2 = load_vocab("gpt-2");
    auto spm = load_vocab("llama-spm");
    if (!gpt2 || !spm) GTEST_SKIP() << "shared data not present";
    const std::string bad = "ok \xFF\xC3 \xED\xA0\x80 \xF0\x9F<|endoftext|>\x80";
    for (const Tokenizer* t : {gpt2.get(), spm.get()}) {
        for (bool special : {false, true}) {
            const auto a = t->encode(bad, {.add_special = false, .parse_special = special});
            EXPECT_EQ(a, t->encode(bad, {.add_special = false, .parse_special = special}));
            for (int32_t id : a) EXPECT_TRUE(id >= 0 && id < t->n_vocab());
            // Both keep every byte: decoding without sanitising gives the input.
            std::string raw;
            for (int32_t id : a) raw += t->token_to_piece(id, true);
            if (t == gpt2.get()) {
                EXPECT_EQ(raw, bad);
            }
        }
        EXPECT_EQ(t->token_to_piece(-1), "");
        EXPECT_EQ(t->token_to_piece(t->n_vocab()), "");
        const int32_t junk[] = {-5, 1 << 30, 100};
        EXPECT_EQ(utf8::sanitize(t->decode(junk)), t->decode(junk));
        EXPECT_TRUE(t->encode("", {.add_special = false}).empty());
    }
}

TEST(Tokenizers, BadVocabulariesAreErrors) {
    Vocab v;
    v.model = "gpt2";
    EXPECT_FALSE(make_tokenizer(v).ok());  // empty
    v.tokens = {"a", "b", "ab"};
    v.bos_id = 7;
    EXPECT_FALSE(make_tokenizer(v).ok());  // id out of range
    v.bos_id = -1;
    v.scores = {0.0f};
    EXPECT_FALSE(make_tokenizer(v).ok());  // sizes disagree
    v.scores.clear();
    v.model = "wordpiece";
    EXPECT_FALSE(make_tokenizer(v).ok());
    v.model = "gpt2";
    v.pre_regexes = {"[unclosed"};
    EXPECT_FALSE(make_tokenizer(v).ok());
    v.pre_regexes.clear();
    v.pre = "no-such-pre";  // warns and uses the GPT-2 split
    v.merges = {"a b", "a", "q r", "", " "};
    auto t = BpeTokenizer::create(v);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ((*t)->skipped_merges(), 4u);
    EXPECT_EQ((*t)->encode("ab ab", {.add_special = false}), (std::vector<int32_t>{2, 2}));
}

}  // namespace
}  // namespace ig
