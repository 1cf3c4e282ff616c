#pragma once
// Python str operations on provenance-marked strings (PStr): every result
// keeps the marks of the bytes it was built from.
#include <optional>
#include <string_view>
#include <vector>

#include "chat/jinja_value.h"

namespace ig::jinja {

// Byte length of the Python-whitespace code point at s[pos], or 0.
size_t space_at(std::string_view s, size_t pos);
// Byte length of the Python-whitespace code point ending at s[end - 1], or 0.
size_t space_before(std::string_view s, size_t end);

// str.strip / lstrip / rstrip; `chars` (code points to strip) null = whitespace.
PStr py_strip(const PStr& s, const PStr* chars, bool left, bool right);
// str.split(sep, maxsplit); sep null = runs of whitespace.
std::vector<PStr> py_split(const PStr& s, const PStr* sep, int64_t maxsplit);
// str.replace(old, new, count); the inserted text carries the marks of `repl`.
PStr py_replace(const PStr& s, const PStr& old, const PStr& repl, int64_t count);
// ASCII case mapping (non-ASCII bytes are kept as they are).
PStr py_upper(const PStr& s);
PStr py_lower(const PStr& s);
PStr py_capitalize(const PStr& s);
// jinja2's `title` filter: upper-case the first letter after - ( { [ < or whitespace.
PStr jinja_title(const PStr& s);
// markupsafe.escape: & < > " ' as HTML entities.
PStr html_escape(const PStr& s);
// str.splitlines() (without keepends).
std::vector<PStr> py_splitlines(const PStr& s);

}  // namespace ig::jinja
