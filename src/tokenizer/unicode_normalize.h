#pragma once
// Unicode normalization (NFC, NFD, NFKC, NFKD) of UTF-8 text before it is
// tokenized, as Hugging Face's tokenizer.json normalizers do. Backed by
// ICU's Normalizer2 (libicu, the Unicode data Debian ships).
#include <string>
#include <string_view>

#include "tokenizer/vocab.h"
#include "util/expected.h"

namespace ig {

// "NFC", "NFD", "NFKC", "NFKD" -> the form; anything else is an error, as is
// a form whose ICU data cannot be loaded (so encode never meets that).
Expected<UnicodeForm> unicode_form_from_name(std::string_view name);

// Writes the text in `form` to out and returns true, or returns false
// (leaving out alone) when the text is already in that form for sure:
// form None, or ASCII only. Ill-formed UTF-8 bytes are copied unchanged
// and end a normalization run, so byte-level tokenizers still see every
// byte and nothing composes across them (Hugging Face never sees such
// bytes: its input is a valid string).
bool unicode_normalize(UnicodeForm form, std::string_view text, std::string& out);

}  // namespace ig
