// JsonScanner and JsonStringDecoder against nlohmann/json: the same verdict
// on valid documents, their mutations and random JSON-ish text; the same
// decoded strings.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "chat/json_scanner.h"

namespace ig {
namespace {

// Whether the scanner takes `s` as one JSON value (whitespace around it allowed).
bool scanner_accepts(std::string_view s) {
    JsonScanner sc;
    bool done = false;
    for (char c : s) {
        if (done) {
            if (c != ' ' && c != '\n' && c != '\t' && c != '\r') return false;
            continue;
        }
        switch (sc.push(c)) {
            case JsonScanner::Result::More:
                break;
            case JsonScanner::Result::Done:
                done = true;
                break;
            case JsonScanner::Result::DoneBefore:
                done = true;
                if (c != ' ' && c != '\n' && c != '\t' && c != '\r') return false;
                break;
            case JsonScanner::Result::Error:
                return false;
        }
    }
    return done;
}

// Only containers and strings: a bare number needs the end of input to end.
bool framed(std::string_view s) {
    const size_t p = s.find_first_not_of(" \t\r\n");
    return p != s.npos &&
           (s[p] == '{' || s[p] == '[' || s[p] == '"' || s[p] == 't' || s[p] == 'f' || s[p] == 'n');
}

TEST(JsonScanner, AgreesWithNlohmannOnDocuments) {
    const char* const docs[] = {
        R"({})",
        R"([])",
        R"({"a": 1, "b": [true, false, null], "c": {"d": -0.5e-3, "e": "x\"\\\/\b\f\n\r\t\u00e9"}})",
        R"( [1, 2.0, 3e5, -4, 0, {"k": []}] )",
        R"("just a string")",
        R"({"a":{"b":{"c":{"d":[[[[]]]]}}}})",
        R"(true)",
        R"({"a" : 1 , "b" : 2 })",
    };
    for (const char* d : docs) {
        EXPECT_TRUE(nlohmann::json::accept(d)) << d;
        EXPECT_TRUE(scanner_accepts(d)) << d;
    }
    const char* const bad[] = {R"({,})",      R"({"a"})",   R"({"a":})",   R"([1,])",
                               R"({"a":1,})", R"([01])",    R"([1.])",     R"([.5])",
                               R"([1e])",     R"(["\x"])",  R"(["\u12"])", R"([tru])",
                               R"({'a':1})",  "[\"a\nb\"]", R"([1 2])",    R"({"a":1}})"};
    for (const char* d : bad) {
        EXPECT_FALSE(nlohmann::json::accept(d)) << d;
        EXPECT_FALSE(scanner_accepts(d)) << d;
    }
}

TEST(JsonScanner, AgreesWithNlohmannOnRandomText) {
    const char* const pieces[] = {"{",    "}",    "[",  "]",   "\"",      "\"k\"", ":", ",", " ",
                                  "\n",   "1",    "-",  "0",   ".",       "5",     "e", "+", "true",
                                  "null", "fals", "\\", "\\n", "\\u00e9", "\\u",   "a", "x"};
    std::mt19937 rng(1234);
    int agreed_valid = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string s;
        const int n = std::uniform_int_distribution<int>(1, 14)(rng);
        for (int j = 0; j < n; ++j) {
            s += pieces[std::uniform_int_distribution<size_t>(0, std::size(pieces) - 1)(rng)];
        }
        if (!framed(s)) continue;
        const bool want = nlohmann::json::accept(s);
        ASSERT_EQ(scanner_accepts(s), want) << s;
        agreed_valid += want;
    }
    EXPECT_GT(agreed_valid, 100);
}

TEST(JsonScanner, MutatedDocuments) {
    const std::string doc =
        R"({"name": "f", "arguments": {"city": "Par\u00eds", "n": [1, -2.5e+3, {"x": null}], "ok": true}})";
    std::mt19937 rng(99);
    const std::string alphabet = "{}[]\",:0123456789.-+eE \\/ntfrua";
    for (int i = 0; i < 50000; ++i) {
        std::string s = doc;
        const int edits = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int e = 0; e < edits; ++e) {
            const size_t at = std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng);
            const char c =
                alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
            switch (rng() % 3) {
                case 0:
                    s[at] = c;
                    break;
                case 1:
                    s.insert(at, 1, c);
                    break;
                default:
                    s.erase(at, 1);
                    break;
            }
        }
        if (!framed(s)) continue;
        ASSERT_EQ(scanner_accepts(s), nlohmann::json::accept(s)) << s;
    }
}

std::string decode(std::string_view body_and_quote, bool* ok) {
    JsonStringDecoder d;
    std::string out;
    for (char c : body_and_quote) {
        const auto r = d.push(c, out);
        if (r == JsonStringDecoder::Result::Error) {
            *ok = false;
            return out;
        }
        if (r == JsonStringDecoder::Result::Closed) {
            *ok = true;
            return out;
        }
    }
    *ok = false;
    return out;
}

TEST(JsonStringDecoder, DecodesAsNlohmann) {
    for (const char* body : {R"(plain")", R"(a\"b\\c\/d\b\f\n\r\t")", R"(\u00e9\u4e2d\u0041")",
                             R"(\ud83d\ude00 smile")", "caf\xC3\xA9 raw\"", R"(")"}) {
        bool ok = false;
        const std::string got = decode(body, &ok);
        ASSERT_TRUE(ok) << body;
        std::string quoted(1, '"');
        quoted += body;
        EXPECT_EQ(got, nlohmann::json::parse(quoted).get<std::string>()) << body;
    }
    bool ok = true;
    decode(R"(\x")", &ok);
    EXPECT_FALSE(ok);
    decode("a\nb\"", &ok);
    EXPECT_FALSE(ok);
    // A lone surrogate (which nlohmann refuses) decodes to U+FFFD.
    EXPECT_EQ(decode(R"(\ud83dx")", &ok), "\xEF\xBF\xBDx");
    EXPECT_TRUE(ok);
    EXPECT_EQ(decode(R"(\ud83d\n")", &ok), "\xEF\xBF\xBD\n");
    EXPECT_EQ(decode(R"(\ude00")", &ok), "\xEF\xBF\xBD");
}

TEST(JsonEscape, RoundTripsThroughNlohmann) {
    std::string all;
    for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
    std::string esc;
    append_json_escaped(esc, "q\"b\\n\n\x01\x1f");
    EXPECT_EQ(esc, "q\\\"b\\\\n\\n\\u0001\\u001f");
    esc.clear();
    append_json_escaped(esc, std::string(all.begin(), all.begin() + 127));
    EXPECT_EQ(nlohmann::json::parse("\"" + esc + "\"").get<std::string>(),
              std::string(all.begin(), all.begin() + 127));
}

}  // namespace
}  // namespace ig
