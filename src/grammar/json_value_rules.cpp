#include "grammar/json_value_rules.h"

namespace ig::grammar {

namespace {

Element byte_range(GrammarBuilder& b, uint8_t lo, uint8_t hi) {
    ByteSet s;
    s.set_range(lo, hi);
    return b.bytes(s);
}

Element byte_chars(GrammarBuilder& b, std::string_view chars) {
    ByteSet s;
    for (char c : chars) s.set(static_cast<uint8_t>(c));
    return b.bytes(s);
}

}  // namespace

uint32_t JsonValueRules::lazy(std::optional<uint32_t>& slot, uint32_t (JsonValueRules::*make)()) {
    if (!slot) slot = (this->*make)();
    return *slot;
}

Sequence JsonValueRules::ws() {
    if (!any_ws_) return {};
    return {GrammarBuilder::ref(lazy(ws_, &JsonValueRules::make_ws))};
}

Sequence JsonValueRules::comma() {
    Sequence s = ws();
    s.push_back(b_.byte(','));
    Sequence w = ws();
    s.insert(s.end(), w.begin(), w.end());
    return s;
}

uint32_t JsonValueRules::string() {
    return lazy(string_, &JsonValueRules::make_string);
}
uint32_t JsonValueRules::string_char() {
    return lazy(string_char_, &JsonValueRules::make_string_char);
}
uint32_t JsonValueRules::plain_char() {
    return lazy(plain_char_, &JsonValueRules::make_plain_char);
}
uint32_t JsonValueRules::unsigned_number() {
    return lazy(unsigned_number_, &JsonValueRules::make_unsigned_number);
}
uint32_t JsonValueRules::number() {
    return lazy(number_, &JsonValueRules::make_number);
}
uint32_t JsonValueRules::integer() {
    return lazy(integer_, &JsonValueRules::make_integer);
}
uint32_t JsonValueRules::boolean() {
    return lazy(boolean_, &JsonValueRules::make_boolean);
}
uint32_t JsonValueRules::null() {
    return lazy(null_, &JsonValueRules::make_null);
}
uint32_t JsonValueRules::nothing() {
    return lazy(nothing_, &JsonValueRules::make_nothing);
}
uint32_t JsonValueRules::value() {
    return lazy(value_, &JsonValueRules::make_value);
}
uint32_t JsonValueRules::object() {
    value();
    return *object_;
}
uint32_t JsonValueRules::array() {
    value();
    return *array_;
}

uint32_t JsonValueRules::make_ws() {
    uint32_t indent = b_.repeat({byte_chars(b_, " \t")}, 0, 20, "ws-indent");
    Element nl = b_.byte('\n');
    return b_.add_rule("ws", {{},
                              {b_.byte(' ')},
                              {nl, GrammarBuilder::ref(indent)},
                              {nl, nl, GrammarBuilder::ref(indent)}});
}

uint32_t JsonValueRules::make_plain_char() {
    return b_.char_class({{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x10FFFF}}, false,
                         "string-char-plain");
}

uint32_t JsonValueRules::make_string_char() {
    Element hex = byte_chars(b_, "0123456789abcdefABCDEF");
    // \uXXXX but not D800..DFFF: surrogate escapes are refused (see the header).
    uint32_t u4 = b_.add_rule("string-escape-u",
                              {{byte_chars(b_, "0123456789abcABCefEF"), hex, hex, hex},
                               {byte_chars(b_, "dD"), byte_range(b_, '0', '7'), hex, hex}});
    return b_.add_rule("string-char", {{GrammarBuilder::ref(plain_char())},
                                       {b_.byte('\\'), byte_chars(b_, "\"\\/bfnrt")},
                                       {b_.byte('\\'), b_.byte('u'), GrammarBuilder::ref(u4)}});
}

uint32_t JsonValueRules::make_string() {
    uint32_t chars =
        b_.repeat({GrammarBuilder::ref(string_char())}, 0, std::nullopt, "string-chars");
    return b_.add_rule("string", {{b_.byte('"'), GrammarBuilder::ref(chars), b_.byte('"')}});
}

uint32_t JsonValueRules::make_unsigned_number() {
    Element digit = byte_range(b_, '0', '9');
    uint32_t more = b_.repeat({digit}, 0, 15, "int-digits");
    uint32_t integral = b_.add_rule(
        "int-part", {{b_.byte('0')}, {byte_range(b_, '1', '9'), GrammarBuilder::ref(more)}});
    uint32_t frac_digits = b_.repeat({digit}, 1, 16, "frac-digits");
    uint32_t frac = b_.add_rule("frac", {{}, {b_.byte('.'), GrammarBuilder::ref(frac_digits)}});
    uint32_t exp_digits = b_.repeat({digit}, 1, 2, "exp-digits");
    uint32_t sign = b_.add_rule("exp-sign", {{}, {byte_chars(b_, "+-")}});
    uint32_t exp = b_.add_rule(
        "exp",
        {{}, {byte_chars(b_, "eE"), GrammarBuilder::ref(sign), GrammarBuilder::ref(exp_digits)}});
    return b_.add_rule("unsigned-number", {{GrammarBuilder::ref(integral),
                                            GrammarBuilder::ref(frac), GrammarBuilder::ref(exp)}});
}

uint32_t JsonValueRules::make_number() {
    uint32_t u = unsigned_number();
    return b_.add_rule("number",
                       {{GrammarBuilder::ref(u)}, {b_.byte('-'), GrammarBuilder::ref(u)}});
}

uint32_t JsonValueRules::make_integer() {
    uint32_t more = b_.repeat({byte_range(b_, '0', '9')}, 0, 15, "int-digits");
    uint32_t nonzero =
        b_.add_rule("int-nonzero", {{byte_range(b_, '1', '9'), GrammarBuilder::ref(more)}});
    return b_.add_rule("integer", {{b_.byte('0')},
                                   {GrammarBuilder::ref(nonzero)},
                                   {b_.byte('-'), GrammarBuilder::ref(nonzero)}});
}

uint32_t JsonValueRules::make_boolean() {
    return b_.add_rule("boolean", {b_.literal("true"), b_.literal("false")});
}

uint32_t JsonValueRules::make_null() {
    return b_.add_rule("null", {b_.literal("null")});
}

uint32_t JsonValueRules::make_nothing() {
    return b_.add_rule("nothing", {});
}

uint32_t JsonValueRules::make_value() {
    uint32_t value = b_.declare("value");
    value_ = value;
    // object ::= "{" ws "}" | "{" ws member (ws "," ws member)* ws "}"
    auto close = [&](char c) {
        Sequence s = ws();
        s.push_back(b_.byte(static_cast<uint8_t>(c)));
        return s;
    };
    auto join = [](Sequence a, const Sequence& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    Sequence member = join(join({GrammarBuilder::ref(string())}, ws()), join({b_.byte(':')}, ws()));
    member.push_back(GrammarBuilder::ref(value));
    uint32_t member_rule = b_.add_rule("member", {member});
    uint32_t members =
        b_.repeat(join(comma(), {GrammarBuilder::ref(member_rule)}), 0, std::nullopt, "members");
    Sequence open_obj = join({b_.byte('{')}, ws());
    object_ = b_.add_rule(
        "object",
        {join(open_obj, {b_.byte('}')}),
         join(join(open_obj, {GrammarBuilder::ref(member_rule), GrammarBuilder::ref(members)}),
              close('}'))});
    uint32_t items =
        b_.repeat(join(comma(), {GrammarBuilder::ref(value)}), 0, std::nullopt, "items");
    Sequence open_arr = join({b_.byte('[')}, ws());
    array_ = b_.add_rule(
        "array", {join(open_arr, {b_.byte(']')}),
                  join(join(open_arr, {GrammarBuilder::ref(value), GrammarBuilder::ref(items)}),
                       close(']'))});
    b_.define(value, {{GrammarBuilder::ref(*object_)},
                      {GrammarBuilder::ref(*array_)},
                      {GrammarBuilder::ref(string())},
                      {GrammarBuilder::ref(number())},
                      {GrammarBuilder::ref(boolean())},
                      {GrammarBuilder::ref(null())}});
    return value;
}

}  // namespace ig::grammar
