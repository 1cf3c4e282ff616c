#include "tokenizer/unicode_normalize.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <algorithm>
#include <climits>

#include "util/utf8.h"

namespace ig {
namespace {

// ICU's instances are process-wide singletons; null when its data is missing.
const icu::Normalizer2* instance(UnicodeForm form) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = nullptr;
    switch (form) {
        case UnicodeForm::NFC:
            n = icu::Normalizer2::getNFCInstance(err);
            break;
        case UnicodeForm::NFD:
            n = icu::Normalizer2::getNFDInstance(err);
            break;
        case UnicodeForm::NFKC:
            n = icu::Normalizer2::getNFKCInstance(err);
            break;
        case UnicodeForm::NFKD:
            n = icu::Normalizer2::getNFKDInstance(err);
            break;
        case UnicodeForm::None:
            break;
    }
    return U_SUCCESS(err) ? n : nullptr;
}

}  // namespace

Expected<UnicodeForm> unicode_form_from_name(std::string_view name) {
    UnicodeForm form;
    if (name == "NFC")
        form = UnicodeForm::NFC;
    else if (name == "NFD")
        form = UnicodeForm::NFD;
    else if (name == "NFKC")
        form = UnicodeForm::NFKC;
    else if (name == "NFKD")
        form = UnicodeForm::NFKD;
    else
        return make_error("'{}' is not a Unicode normalization form", name);
    if (instance(form) == nullptr)
        return make_error("Unicode normalization {}: ICU data is not available", name);
    return form;
}

bool unicode_normalize(UnicodeForm form, std::string_view text, std::string& out) {
    if (form == UnicodeForm::None) return false;
    // ASCII is invariant under every form: the common case costs one scan.
    if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) return false;
    const icu::Normalizer2* norm = instance(form);
    // No data is refused at load time; ICU takes int32 lengths.
    if (norm == nullptr || text.size() > static_cast<size_t>(INT32_MAX)) return false;
    out.clear();
    out.reserve(text.size() + text.size() / 4);
    icu::StringByteSink<std::string> sink(&out);
    size_t i = 0;
    while (i < text.size()) {
        size_t end = i;  // a run of well-formed sequences
        while (end < text.size()) {
            const size_t n = utf8::valid_at(text, end);
            if (n == 0) break;
            end += n;
        }
        if (end > i) {
            const size_t before = out.size();
            UErrorCode err = U_ZERO_ERROR;
            norm->normalizeUTF8(0, icu::StringPiece(text.data() + i, static_cast<int32_t>(end - i)),
                                sink, nullptr, err);
            if (U_FAILURE(err)) {  // out of memory: keep the run as it was
                out.resize(before);
                out.append(text.substr(i, end - i));
            }
        }
        i = end;
        while (i < text.size() && utf8::valid_at(text, i) == 0) out += text[i++];
    }
    return true;
}

}  // namespace ig
