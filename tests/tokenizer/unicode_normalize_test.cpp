// unicode_normalize against vectors from the reference: Python 3.11's
// unicodedata.normalize (Unicode 14.0; ICU here is newer, and none of these
// characters changed since), printed as UTF-8 bytes.
#include "tokenizer/unicode_normalize.h"

#include <gtest/gtest.h>

#include <string>

namespace ig {
namespace {

std::string normalized(UnicodeForm form, std::string_view text) {
    std::string out = "stale";
    return unicode_normalize(form, text, out) ? out : std::string(text);
}

struct Vector {
    UnicodeForm form;
    const char* in;
    const char* want;
};

// clang-format off
const Vector kVectors[] = {
    {UnicodeForm::NFC, "e\xCC\x81", "\xC3\xA9"},  // U+0065 U+0301
    {UnicodeForm::NFC, "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"},  // U+1100 U+1161 U+11A8
    {UnicodeForm::NFC, "a\xCC\xA3\xCC\x81", "\xE1\xBA\xA1\xCC\x81"},  // U+0061 U+0323 U+0301
    {UnicodeForm::NFC, "a\xCC\x81\xCC\xA3", "\xE1\xBA\xA1\xCC\x81"},  // U+0061 U+0301 U+0323
    {UnicodeForm::NFC, "\xE2\x84\xAB", "\xC3\x85"},  // U+212B
    {UnicodeForm::NFC, "\xEF\xAC\x81", "\xEF\xAC\x81"},  // U+FB01
    {UnicodeForm::NFC, "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},  // U+D55C U+AD6D U+C5B4
    {UnicodeForm::NFC, "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xE1\x84\x80\xE1\x85\xAE\xE1\x86\xA8\xE1\x84\x8B\xE1\x85\xA5", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},  // U+1112 U+1161 U+11AB U+1100 U+116E U+11A8 U+110B U+1165
    {UnicodeForm::NFD, "\xC3\xA9", "e\xCC\x81"},  // U+00E9
    {UnicodeForm::NFD, "\xEA\xB0\x81", "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"},  // U+AC01
    {UnicodeForm::NFD, "\xE1\xB9\xA9", "s\xCC\xA3\xCC\x87"},  // U+1E69
    {UnicodeForm::NFD, "\xEF\xAC\x81", "\xEF\xAC\x81"},  // U+FB01
    {UnicodeForm::NFKC, "\xEF\xAC\x81", "fi"},  // U+FB01
    {UnicodeForm::NFKC, "\xEF\xBC\xA1", "A"},  // U+FF21
    {UnicodeForm::NFKC, "\xE2\x91\xA0", "1"},  // U+2460
    {UnicodeForm::NFKC, "x\xC2\xB2", "x2"},  // U+0078 U+00B2
    {UnicodeForm::NFKC, "\xE3\x8C\x80", "\xE3\x82\xA2\xE3\x83\x91\xE3\x83\xBC\xE3\x83\x88"},  // U+3300
    {UnicodeForm::NFKC, "e\xCC\x81", "\xC3\xA9"},  // U+0065 U+0301
    {UnicodeForm::NFKC, "a\xC2\xA0" "b", "a b"},  // U+0061 U+00A0 U+0062
    {UnicodeForm::NFKD, "\xEF\xAC\x81\xC3\xA9", "fie\xCC\x81"},  // U+FB01 U+00E9
    {UnicodeForm::NFKD, "\xEF\xBC\xA1", "A"},  // U+FF21
};
// clang-format on

TEST(TokenizerUnicodeNormalize, MatchesPythonUnicodedata) {
    for (const Vector& v : kVectors)
        EXPECT_EQ(normalized(v.form, v.in), v.want)
            << "form " << static_cast<int>(v.form) << " input [" << v.in << "]";
}

TEST(TokenizerUnicodeNormalize, AsciiAndNoneAreLeftAlone) {
    std::string out = "untouched";
    EXPECT_FALSE(unicode_normalize(UnicodeForm::NFKC, "plain ASCII, 123!", out));
    EXPECT_FALSE(unicode_normalize(UnicodeForm::None, "e\xCC\x81", out));
    EXPECT_EQ(out, "untouched");
    EXPECT_EQ(normalized(UnicodeForm::NFC, ""), "");
}

TEST(TokenizerUnicodeNormalize, FormNames) {
    EXPECT_EQ(*unicode_form_from_name("NFC"), UnicodeForm::NFC);
    EXPECT_EQ(*unicode_form_from_name("NFD"), UnicodeForm::NFD);
    EXPECT_EQ(*unicode_form_from_name("NFKC"), UnicodeForm::NFKC);
    EXPECT_EQ(*unicode_form_from_name("NFKD"), UnicodeForm::NFKD);
    EXPECT_FALSE(unicode_form_from_name("nfc").ok());
    EXPECT_FALSE(unicode_form_from_name("Lowercase").ok());
}

// Ill-formed bytes pass through unchanged and nothing composes across them;
// the well-formed text around them is still normalized.
TEST(TokenizerUnicodeNormalize, InvalidUtf8PassesThrough) {
    EXPECT_EQ(normalized(UnicodeForm::NFC, "e\xFF\xCC\x81"), "e\xFF\xCC\x81");
    EXPECT_EQ(normalized(UnicodeForm::NFC, "e\xCC\x81\xC3"), "\xC3\xA9\xC3");  // cut off
    EXPECT_EQ(normalized(UnicodeForm::NFD, "\xED\xA0\x80\xC3\xA9"),
              "\xED\xA0\x80"
              "e\xCC\x81");  // a surrogate
    EXPECT_EQ(normalized(UnicodeForm::NFKC, "\xC0\xAF\xEF\xAC\x81\x80"),
              "\xC0\xAF"
              "fi\x80");
    EXPECT_EQ(normalized(UnicodeForm::NFKD, "\xF4\x90\x80\x80"), "\xF4\x90\x80\x80");
}

}  // namespace
}  // namespace ig
