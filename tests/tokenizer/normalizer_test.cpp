// tokenizer.json Unicode normalizers (NFC, NFD, NFKC, NFKD) change the ids
// as Hugging Face's do: Qwen's NFC makes decomposed input tokenize like
// precomposed input; inline files pin NFKC, NFD, sequence order and the
// types still refused. Expected strings come from Python's
// unicodedata.normalize.
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.h"
#include "tokenizer/hf_tokenizer_json.h"

namespace ig {
namespace {

Expected<std::unique_ptr<Tokenizer>> load_qwen() {
    const std::string dir = test::shared_file("tokenizers/hf/qwen3");
    return tokenizer_from_hf_json(test::read_text(dir + "/tokenizer.json"),
                                  test::read_text(dir + "/tokenizer_config.json"));
}

bool have_qwen() {
    return test::exists(test::shared_file("tokenizers/hf/qwen3/tokenizer.json"));
}

std::vector<int32_t> ids(const Tokenizer& t, std::string_view text) {
    return t.encode(text, {.add_special = false});
}

std::string raw_pieces(const Tokenizer& t, const std::vector<int32_t>& ids) {
    std::string out;
    for (int32_t id : ids) out += t.token_to_piece(id);
    return out;
}

// A byte-level BPE whose vocabulary knows only a few ASCII words.
std::string byte_level_json(const std::string& normalizer) {
    return R"({"normalizer":)" + normalizer + R"(,
        "pre_tokenizer":{"type":"ByteLevel","use_regex":false},
        "model":{"type":"BPE","vocab":{"f":0,"i":1,"A":2,"fi":3,"1":4},"merges":["f i"]}})";
}

// A SentencePiece-style BPE over characters: "▁", "a", "b", "e", U+0301.
std::string spm_json(const std::string& normalizers) {
    return R"({"normalizer":{"type":"Sequence","normalizers":[)" + normalizers + R"(]},
        "model":{"type":"BPE","unk_token":"<unk>","merges":["▁ e"],
          "vocab":{"<unk>":0,"▁":1,"a":2,"b":3,"e":4,"\u0301":5,"▁e":6}}})";
}

constexpr const char* kPrepend = R"({"type":"Prepend","prepend":"▁"})";
constexpr const char* kReplace = R"({"type":"Replace","pattern":{"String":" "},"content":"▁"})";

TEST(TokenizerNormalizer, QwenNfcTokenizesDecomposedLikePrecomposed) {
    if (!have_qwen()) GTEST_SKIP() << "shared data not present";
    auto tok = load_qwen();
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const Tokenizer& t = **tok;
    struct Pair {
        const char *decomposed, *precomposed;
    };
    const Pair pairs[] = {
        {"caf"
         "e\xCC\x81",
         "caf\xC3\xA9"},  // e + U+0301 -> U+00E9
        {"Ame\xCC\x81lie a\xCC\x80 Paris", "Am\xC3\xA9lie \xC3\xA0 Paris"},
        // Hangul jamo compose into syllables: 한국어
        {"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xE1\x84\x80\xE1\x85\xAE\xE1\x86\xA8\xE1\x84\x8B"
         "\xE1\x85\xA5",
         "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},
        {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"},  // 각
    };
    for (const Pair& p : pairs) {
        const auto want = ids(t, p.precomposed);
        EXPECT_EQ(ids(t, p.decomposed), want) << p.precomposed;
        EXPECT_EQ(t.decode(want), p.precomposed);
    }
    // Around special tokens too: each run between them is normalized.
    const auto chat = t.encode("<|im_start|>e\xCC\x81<|im_end|>", {.parse_special = true});
    EXPECT_EQ(chat, t.encode("<|im_start|>\xC3\xA9<|im_end|>", {.parse_special = true}));
    // NFC keeps compatibility characters: the ligature is not "fi".
    EXPECT_NE(ids(t, "\xEF\xAC\x81"), ids(t, "fi"));
}

TEST(TokenizerNormalizer, QwenInvalidUtf8KeepsItsBytes) {
    if (!have_qwen()) GTEST_SKIP() << "shared data not present";
    auto tok = load_qwen();
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const Tokenizer& t = **tok;
    // Stray bytes reach the byte-level model unchanged; the valid text
    // around them is still composed, but never across them.
    const std::string text =
        "caf\xFF"
        "e\xCC\x81 \xC3";
    const auto got = ids(t, text);
    EXPECT_EQ(raw_pieces(t, got),
              "caf\xFF\xC3\xA9 "
              "\xC3");
    EXPECT_EQ(raw_pieces(t, ids(t, "x\xFF\xCC\x81")), "x\xFF\xCC\x81");
    for (int32_t id : got) EXPECT_TRUE(id >= 0 && id < t.n_vocab());
}

TEST(TokenizerNormalizer, NfkcFoldsLigaturesAndFullwidth) {
    auto tok = tokenizer_from_hf_json(byte_level_json(R"({"type":"NFKC"})"), "");
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const Tokenizer& t = **tok;
    EXPECT_EQ(ids(t, "\xEF\xAC\x81"), (std::vector<int32_t>{3}));  // U+FB01 -> "fi"
    EXPECT_EQ(ids(t, "\xEF\xBC\xA1"), (std::vector<int32_t>{2}));  // U+FF21 -> "A"
    EXPECT_EQ(ids(t, "\xE2\x91\xA0"), (std::vector<int32_t>{4}));  // U+2460 -> "1"
    // NFKD folds the same way here (nothing to recompose).
    auto kd = tokenizer_from_hf_json(
        byte_level_json(R"({"type":"Sequence","normalizers":[{"type":"NFKD"}]})"), "");
    ASSERT_TRUE(kd.ok()) << kd.error().message;
    EXPECT_EQ(ids(**kd, "\xEF\xAC\x81\xEF\xBC\xA1"), (std::vector<int32_t>{3, 2}));
}

TEST(TokenizerNormalizer, NfdInSequenceDecomposes) {
    auto tok = tokenizer_from_hf_json(
        spm_json(std::string(R"({"type":"NFD"},)") + kPrepend + "," + kReplace), "");
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    const Tokenizer& t = **tok;
    // U+00E9 -> "▁" "e" U+0301 -> merged "▁e", U+0301
    EXPECT_EQ(ids(t, "\xC3\xA9"), (std::vector<int32_t>{6, 5}));
    EXPECT_EQ(ids(t, "e\xCC\x81"), (std::vector<int32_t>{6, 5}));
    // Invalid bytes: no byte tokens here, so one <unk>; nothing crashes.
    EXPECT_EQ(ids(t, "a\xFF"), (std::vector<int32_t>{1, 2, 0}));
}

// Hugging Face applies a Sequence in order: NFKC before Replace turns
// U+00A0 into a space and then into "▁"; after Replace it stays a space,
// which this vocabulary lacks.
TEST(TokenizerNormalizer, SequenceOrderIsKept) {
    const std::string nbsp =
        "a\xC2\xA0"
        "b";
    auto early = tokenizer_from_hf_json(
        spm_json(std::string(R"({"type":"NFKC"},)") + kPrepend + "," + kReplace), "");
    ASSERT_TRUE(early.ok()) << early.error().message;
    EXPECT_EQ(ids(**early, nbsp), (std::vector<int32_t>{1, 2, 1, 3}));
    auto late = tokenizer_from_hf_json(
        spm_json(std::string(kPrepend) + "," + kReplace + R"(,{"type":"NFKC"})"), "");
    ASSERT_TRUE(late.ok()) << late.error().message;
    EXPECT_EQ(ids(**late, nbsp), (std::vector<int32_t>{1, 2, 0, 3}));
}

TEST(TokenizerNormalizer, UnsupportedNormalizersAreClearErrors) {
    const std::pair<const char*, const char*> refused[] = {
        {R"({"type":"Lowercase"})", "Lowercase"},
        {R"({"type":"StripAccents"})", "StripAccents"},
        {R"({"type":"Precompiled","precompiled_charsmap":""})", "Precompiled"},
        {R"({"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Strip"}]})", "Strip"},
        {R"({"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"NFC"}]})", "NFC"},
    };
    for (const auto& [normalizer, name] : refused) {
        auto tok = tokenizer_from_hf_json(byte_level_json(normalizer), "");
        ASSERT_FALSE(tok.ok()) << normalizer;
        EXPECT_NE(tok.error().message.find(name), std::string::npos) << tok.error().message;
        EXPECT_NE(tok.error().message.find("not supported"), std::string::npos)
            << tok.error().message;
    }
}

}  // namespace
}  // namespace ig
