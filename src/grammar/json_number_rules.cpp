#include "grammar/json_number_rules.h"

#include <algorithm>
#include <string>
#include <vector>

namespace ig::grammar {

namespace {

using DigitSeq = std::vector<std::pair<char, char>>;  // one digit range per position

// Same-length decimal strings lo..hi (lo <= hi), as products of digit ranges.
void same_length(const std::string& lo, const std::string& hi, DigitSeq prefix,
                 std::vector<DigitSeq>& out) {
    if (lo.empty()) {
        out.push_back(std::move(prefix));
        return;
    }
    if (lo[0] == hi[0]) {
        prefix.push_back({lo[0], lo[0]});
        same_length(lo.substr(1), hi.substr(1), std::move(prefix), out);
        return;
    }
    const size_t rest = lo.size() - 1;
    const bool lo_full = lo.find_first_not_of('0', 1) == std::string::npos;  // lo0 000..
    const bool hi_full = hi.find_first_not_of('9', 1) == std::string::npos;  // hi0 999..
    if (!lo_full) {
        DigitSeq p = prefix;
        p.push_back({lo[0], lo[0]});
        same_length(lo.substr(1), std::string(rest, '9'), std::move(p), out);
    }
    char first = static_cast<char>(lo[0] + (lo_full ? 0 : 1));
    char last = static_cast<char>(hi[0] - (hi_full ? 0 : 1));
    if (first <= last) {
        DigitSeq p = prefix;
        p.push_back({first, last});
        p.insert(p.end(), rest, {'0', '9'});
        out.push_back(std::move(p));
    }
    if (!hi_full) {
        DigitSeq p = prefix;
        p.push_back({hi[0], hi[0]});
        same_length(std::string(rest, '0'), hi.substr(1), std::move(p), out);
    }
}

std::string decimal(BigInt v) {
    std::string s;
    do {
        s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    } while (v > 0);
    return s;
}

BigInt pow10(size_t n) {
    BigInt p = 1;
    while (n--) p *= 10;
    return p;
}

// Alternatives for the integers in [a, c], 0 <= a; none when a > c.
std::vector<Sequence> nonneg_alternatives(GrammarBuilder& b, BigInt a, BigInt c) {
    std::vector<Sequence> alts;
    if (a > c) return alts;
    std::vector<DigitSeq> seqs;
    for (size_t len = decimal(a).size(); len <= decimal(c).size(); ++len) {
        BigInt lo = std::max(a, len == 1 ? BigInt{0} : pow10(len - 1));
        BigInt hi = std::min(c, pow10(len) - 1);
        if (lo <= hi) same_length(decimal(lo), decimal(hi), {}, seqs);
    }
    for (const DigitSeq& d : seqs) {
        Sequence s;
        for (auto [lo, hi] : d) {
            ByteSet set;
            set.set_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi));
            s.push_back(b.bytes(set));
        }
        alts.push_back(std::move(s));
    }
    return alts;
}

BigInt default_magnitude(std::optional<BigInt> lo, std::optional<BigInt> hi) {
    BigInt m = kDefaultIntMagnitude;
    for (auto bound : {lo, hi}) {
        if (!bound) continue;
        BigInt mag = *bound < 0 ? -*bound : *bound;
        if (mag > m) m = pow10(decimal(mag).size()) - 1;
    }
    return std::min(m, kMaxIntMagnitude);
}

Sequence prefixed(Element e, Sequence s) {
    s.insert(s.begin(), e);
    return s;
}

}  // namespace

uint32_t integer_range_rule(GrammarBuilder& b, BigInt lo, BigInt hi, const std::string& name) {
    std::vector<Sequence> alts;
    if (lo < 0) {
        BigInt mag_lo = hi < 0 ? -hi : 1;
        for (Sequence& s : nonneg_alternatives(b, mag_lo, -lo))
            alts.push_back(prefixed(b.byte('-'), std::move(s)));
    }
    if (hi >= 0) {
        for (Sequence& s : nonneg_alternatives(b, std::max(lo, BigInt{0}), hi))
            alts.push_back(std::move(s));
    }
    return b.add_rule(name, std::move(alts));
}

uint32_t bounded_integer_rule(GrammarBuilder& b, std::optional<BigInt> lo, std::optional<BigInt> hi,
                              const std::string& name) {
    BigInt m = default_magnitude(lo, hi);
    return integer_range_rule(b, lo.value_or(-m), hi.value_or(m), name);
}

namespace {

enum class Fraction { None, Any, Short, NonZeroShort };

class NumberSide {
  public:
    NumberSide(JsonValueRules& v, const std::string& name, std::optional<Element> sign,
               BigInt magnitude)
        : v_(v), b_(v.builder()), name_(name), sign_(sign), m_(magnitude) {}

    // w >= 0 (w = v, or -v on the negative side) within the bounds; `lo`
    // and `hi` bound w. Appends its alternatives.
    void add(std::optional<NumberBound> lo, std::optional<NumberBound> hi,
             std::vector<Sequence>& alts) {
        if (hi && (hi->value < 0 || (hi->value == 0 && hi->exclusive))) return;  // no w >= 0 fits
        const bool lo_limits = lo && (lo->value > 0 || (lo->value == 0 && lo->exclusive));
        if (!lo_limits) lo.reset();
        const bool negative = sign_.has_value();
        if (!lo && !hi) {
            Sequence s;
            if (sign_) s.push_back(*sign_);
            s.push_back(GrammarBuilder::ref(v_.unsigned_number()));
            alts.push_back(std::move(s));
            return;
        }
        // No fraction: w = I. ("-0" is left out.)
        BigInt int_lo = lo ? lo->value + (lo->exclusive ? 1 : 0) : (negative ? 1 : 0);
        BigInt int_hi = hi ? hi->value - (hi->exclusive ? 1 : 0) : m_;
        piece(int_lo, int_hi, Fraction::None, alts);
        // Any fraction: I <= w < I + 1, so I + 1 must not pass the upper bound
        // (nor reach it, once rounded, when it is exclusive).
        BigInt any_lo = lo ? lo->value + (lo->exclusive ? 1 : 0) : 0;
        BigInt any_hi = hi ? hi->value - (hi->exclusive ? 2 : 1) : m_;
        piece(any_lo, any_hi, Fraction::Any, alts);
        if (hi && hi->exclusive && hi->value - 1 >= any_lo)
            piece(hi->value - 1, hi->value - 1, Fraction::Short, alts);
        if (lo && lo->exclusive && (!hi || lo->value < hi->value))
            piece(lo->value, lo->value, Fraction::NonZeroShort, alts);
    }

  private:
    void piece(BigInt lo, BigInt hi, Fraction f, std::vector<Sequence>& alts) {
        lo = std::max(lo, BigInt{0});
        hi = std::min(hi, m_);
        auto ints = nonneg_alternatives(b_, lo, hi);
        if (ints.empty()) return;
        Sequence s;
        if (sign_) s.push_back(*sign_);
        s.push_back(GrammarBuilder::ref(b_.add_rule(name_ + "-int", std::move(ints))));
        ByteSet digits, nonzero;
        digits.set_range('0', '9');
        nonzero.set_range('1', '9');
        // Digits a double keeps apart from the integer I (lo == hi here).
        const auto k =
            static_cast<uint32_t>(std::max<int>(0, 15 - static_cast<int>(decimal(lo).size())));
        if (f == Fraction::Any) {
            s.push_back(b_.byte('.'));
            s.push_back(GrammarBuilder::ref(b_.repeat({b_.bytes(digits)}, 1, 16, name_ + "-frac")));
        } else if (f == Fraction::Short) {
            if (k == 0) return;
            s.push_back(b_.byte('.'));
            s.push_back(GrammarBuilder::ref(b_.repeat({b_.bytes(digits)}, 1, k, name_ + "-frac")));
        } else if (f == Fraction::NonZeroShort) {
            if (k == 0) return;
            s.push_back(b_.byte('.'));
            s.push_back(
                GrammarBuilder::ref(b_.repeat({b_.bytes(digits)}, 0, k - 1, name_ + "-frac")));
            s.push_back(b_.bytes(nonzero));
        }
        alts.push_back(std::move(s));
    }

    JsonValueRules& v_;
    GrammarBuilder& b_;
    const std::string& name_;
    std::optional<Element> sign_;
    BigInt m_;
};

}  // namespace

uint32_t bounded_number_rule(JsonValueRules& v, std::optional<NumberBound> lo,
                             std::optional<NumberBound> hi, const std::string& name) {
    GrammarBuilder& b = v.builder();
    const BigInt m = default_magnitude(lo ? std::optional<BigInt>(lo->value) : std::nullopt,
                                       hi ? std::optional<BigInt>(hi->value) : std::nullopt);
    std::vector<Sequence> alts;
    NumberSide(v, name, std::nullopt, m).add(lo, hi, alts);
    // v < 0 as "-" w: v <= b is w >= -b, v >= a is w <= -a. Skipped when
    // v >= 0 is required anyway.
    if (!lo || lo->value < 0) {
        std::optional<NumberBound> wlo, whi;
        if (hi) wlo = NumberBound{-hi->value, hi->exclusive};
        if (lo) whi = NumberBound{-lo->value, lo->exclusive};
        NumberSide(v, name, b.byte('-'), m).add(wlo, whi, alts);
    }
    return b.add_rule(name, std::move(alts));
}

}  // namespace ig::grammar
