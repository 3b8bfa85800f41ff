#include "scoring/extract.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace ai_scale::scoring {

namespace {

namespace L = pg::jsonb_layout;
using L::load16;
using L::load32;

// 10000^k for k in [-pow_bias, pow_bias].
constexpr int pow_bias = 80;
struct pow10000_table {
    double v[2 * pow_bias + 1];
    pow10000_table()
    {
        for (int k = -pow_bias; k <= pow_bias; k++)
            v[k + pow_bias] = std::pow(10000.0, k);
    }
};
const pow10000_table pow10000;

} // namespace

namespace {

// Sums the base-10000 digits in double: fast, but each product and sum rounds, so the result
// may be a few units in the last place away from the nearest double. Sets *groups to the
// number of digits summed.
bool sum_digits(const L::numeric_view& num, double* out, size_t* groups)
{
    double v = 0;
    size_t i = 0;
    for (; i < num.ndigits; i++) {
        uint16_t digit = load16(num.digits + 2 * i);
        if (digit >= L::numeric_base)
            return false;
        int k = num.weight - int(i);
        if (k > pow_bias) {
            if (digit != 0) {
                *out = num.negative ? -HUGE_VAL : HUGE_VAL;
                *groups = i;
                return true;
            }
            continue;
        }
        if (k < -pow_bias)
            break;
        // (10000^k is infinite for k past 77: a zero digit there made the sum NaN.)
        if (digit != 0)
            v += double(digit) * pow10000.v[k + pow_bias];
    }
    *out = num.negative ? -v : v;
    *groups = i;
    return true;
}

constexpr double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr double inverse_pow10[] = {1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                    1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                    1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

// Clinger's fast path: when the base-10000 digits make an integer m of at most 2^53 and the
// number is m * 10^e with |e| <= 22, m and 10^|e| are doubles exactly, and one multiplication
// or division of the two rounds once, to the double nearest the number. Most JSON numbers
// (few significant digits, a modest exponent) are such; false leaves the others to sum_digits.
[[gnu::always_inline]] inline bool small_decimal(const L::numeric_view& num, uint64_t* m, int* e)
{
    if (num.ndigits > 4)
        return false;
    uint64_t v = 0;
    if (num.ndigits - 1 < 2) {
        // One digit or two (numbers under 10^4 with up to 4 decimals), without a branch on
        // which: in a column mixing the two, the loop below often mispredicted its end.
        const uint16_t first = load16(num.digits);
        const uint16_t last = load16(num.digits + 2 * (num.ndigits - 1));
        if (first >= L::numeric_base || last >= L::numeric_base)
            return false;
        v = num.ndigits == 2 ? uint64_t(first) * L::numeric_base + last : first;
    } else {
        for (size_t i = 0; i < num.ndigits; i++) {
            uint16_t digit = load16(num.digits + 2 * i);
            if (digit >= L::numeric_base)
                return false;
            v = v * L::numeric_base + digit;
        }
    }
    *m = v;
    *e = 4 * (num.weight + 1 - int(num.ndigits));
    return v <= (uint64_t(1) << 53) && *e >= -22 && *e <= 22;
}

double exact_double(uint64_t m, int e)
{
    return e >= 0 ? double(m) * pow10[e] : double(m) / pow10[-e];
}

// Whether float(v) and float(w) may differ for some w within 4 units in the last place of
// v >= 0: a float midpoint (a double whose 29 bits below float's precision are 1000...0) is
// that close, or v is outside float's normal range (or zero).
[[gnu::always_inline]] inline bool near_float_midpoint(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    const int exponent = int((bits >> 52) & 0x7ff) - 1023;
    if (exponent < -126 || exponent > 127)
        return true;
    const uint64_t below = bits & ((uint64_t(1) << 29) - 1);
    const uint64_t half = uint64_t(1) << 28;
    return (below > half ? below - half : half - below) <= 4;
}

// float() of the double nearest m * 10^e (small_decimal's m and e) without a division where
// it can: m times the double nearest 10^e is within 2 units in the last place of the nearest
// double (two roundings), so both round to the same float unless a midpoint lies within reach.
[[gnu::always_inline]] inline float exact_float(uint64_t m, int e)
{
    if (e >= 0)
        return float(double(m) * pow10[e]);
    const double v = double(m) * inverse_pow10[-e];
    return float(near_float_midpoint(v) ? double(m) / pow10[-e] : v);
}

// Whether v lies within slack of a point where rounding to float changes: half way between
// float(v) and either neighbour (past FLT_MAX, the overflow threshold). On magnitudes, with
// the neighbours from the bits.
bool near_float_tie_slow(double v, double slack)
{
    double a = std::fabs(v);
    float f = float(a);
    if (std::isinf(f))
        f = FLT_MAX;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    auto magnitude = [](uint32_t b) {
        float g;
        memcpy(&g, &b, sizeof g);
        return std::isinf(g) ? 0x1p128 : double(g);
    };
    double up = (double(f) + magnitude(bits + 1)) / 2;
    double down = (double(f) + magnitude(bits == 0 ? 1 : bits - 1)) / 2;
    return std::fabs(a - up) <= slack || std::fabs(a - down) <= slack;
}

// The same for a sum of `groups` base-10000 digits, whose error is at most 4 * groups + 8
// units in the last place of the double. Where float is normal, every midpoint between two
// floats is a double whose 29 bits below float's precision are 1000...0: a few integer
// operations per number decide, and only the rest (float subnormals, zero, past the overflow
// threshold) take the slow test above.
bool near_float_tie(double v, size_t groups)
{
    const uint64_t ulps = 2 * (4 * uint64_t(groups) + 8);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    const int exponent = int((bits >> 52) & 0x7ff) - 1023;
    if (exponent < -126 || exponent > 127)
        return near_float_tie_slow(v, double(ulps) * 0x1p-52 * std::fabs(v) + 1e-300);
    const uint64_t below = bits & ((uint64_t(1) << 29) - 1);
    const uint64_t half = uint64_t(1) << 28;
    return (below > half ? below - half : half - below) <= ulps;
}

// decode_numeric_float past Clinger's fast path: the digits summed in double, and read again
// exactly when that sum lies near a float rounding tie. Out of line, so that the fast path
// inlined into extract keeps a small frame (with this in it, the frame and the calls around
// it took half of a number's decoding).
[[gnu::noinline]] bool summed_float(const L::numeric_view& num, float* out)
{
    double v;
    size_t groups;
    if (!sum_digits(num, &v, &groups))
        return false;
    // float(v) is the float of the nearest double unless v sits so close to a rounding tie
    // that its own error could put it on the other side (a double that is a float midpoint,
    // or one a few units away: 0.9999999701976776, 2.99999988079071). Those rare values are
    // read again exactly: strtod of the digits, written as an integer and an exponent.
    if (std::isfinite(v) && near_float_tie(v, groups)) {
        std::string text = num.negative ? "-" : "";
        char group[8];
        for (size_t i = 0; i < num.ndigits; i++) {
            snprintf(group, sizeof group, "%04u", unsigned(load16(num.digits + 2 * i)));
            text += group;
        }
        text += "e" + std::to_string(4 * (int64_t(num.weight) + 1 - int64_t(num.ndigits)));
        v = strtod(text.c_str(), nullptr);
    }
    *out = float(v);
    return true;
}

inline bool decode_float(const uint8_t* p, size_t len, float* out)
{
    L::numeric_view num;
    if (!L::read_numeric(p, len, &num))
        return false;
    uint64_t m;
    int e;
    if (!small_decimal(num, &m, &e))
        return summed_float(num, out);
    const float f = exact_float(m, e);
    *out = num.negative ? -f : f;
    return true;
}

// memcmp's sign for the short keys of most models, without a call into libc per key.
inline int compare_bytes(const char* a, const char* b, size_t n)
{
    if (n > 16)
        return memcmp(a, b, n);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]) ? -1 : 1;
    return 0;
}

} // namespace

bool decode_numeric(const uint8_t* p, size_t len, double* out)
{
    L::numeric_view num;
    if (!L::read_numeric(p, len, &num))
        return false;
    uint64_t m;
    int e;
    if (!small_decimal(num, &m, &e)) {
        size_t groups;
        return sum_digits(num, out, &groups);
    }
    const double v = exact_double(m, e);
    *out = num.negative ? -v : v;
    return true;
}

bool decode_numeric_float(const uint8_t* p, size_t len, float* out)
{
    return decode_float(p, len, out);
}

bool jsonb_key_less(const std::string& a, const std::string& b)
{
    if (a.size() != b.size())
        return a.size() < b.size();
    return memcmp(a.data(), b.data(), a.size()) < 0;
}

feature_extractor::feature_extractor(const std::vector<std::string>& features,
                                     const std::vector<float>& defaults, bool missing_is_nan)
    : names_(features), defaults_(defaults), missing_is_nan_(missing_is_nan)
{
    std::vector<int32_t> order(features.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return jsonb_key_less(features[size_t(a)], features[size_t(b)]);
    });
    for (int32_t c : order) {
        sorted_.push_back(features[size_t(c)]);
        column_.push_back(c);
    }
    defaults_.resize(features.size(), NAN);
}

size_t feature_extractor::memory_bytes() const
{
    size_t n = 0;
    for (size_t i = 0; i < names_.size(); i++)
        n += 2 * sizeof(std::string) + names_[i].capacity() + sorted_[i].capacity() +
             sizeof(int32_t) + sizeof(float);
    // The remembered header, entries and key bytes, the match of each key, the missing ones.
    n += 4 + 4 * max_keys() + max_key_bytes() + sizeof(int32_t) * max_keys() +
         sizeof(int32_t) * names_.size();
    return n;
}

bool feature_extractor::fill_missing(int32_t column, float* row, result& res) const
{
    const float d = defaults_[size_t(column)];
    if (std::isnan(d) && !missing_is_nan_) {
        res.st = status::missing;
        res.feature = column;
        return false;
    }
    row[column] = d;
    return true;
}

// Merges the object's keys with the sorted features into km: which key feeds which feature,
// and which features no key gives. False, with res set, when the keys are malformed.
bool feature_extractor::match_keys(const uint8_t* entries, uint32_t count, const uint8_t* data,
                                   size_t data_len, key_match& km, result& res) const
{
    const size_t n_features = sorted_.size();
    km.match.assign(count, -1);
    km.missing.clear();
    km.last_match = -1;
    size_t f = 0;
    uint32_t offset = 0;
    for (uint32_t k = 0; k < count && f < n_features; k++) {
        uint32_t e = load32(entries + 4 * size_t(k));
        uint32_t end = (e & L::has_off) ? (e & L::offlen_mask) : offset + (e & L::offlen_mask);
        if (end < offset || end > data_len) {
            res.st = status::malformed;
            return false;
        }
        const char* key = reinterpret_cast<const char*>(data + offset);
        size_t key_len = end - offset;
        offset = end;
        // Features ordered before this key are absent from the input.
        while (f < n_features) {
            const std::string& name = sorted_[f];
            int cmp = name.size() != key_len ? (name.size() < key_len ? -1 : 1)
                                             : compare_bytes(name.data(), key, key_len);
            if (cmp > 0)
                break;
            if (cmp == 0) {
                km.match[k] = int32_t(f);
                km.last_match = int64_t(k);
                f++;
                break;
            }
            km.missing.push_back(int32_t(f));
            f++;
        }
    }
    for (; f < n_features; f++)
        km.missing.push_back(int32_t(f));
    // The values' offsets continue after the keys: the end of the keys area is the lengths
    // back to the nearest entry that stores an offset.
    km.keys_end = 0;
    for (int64_t i = int64_t(count) - 1; i >= 0; i--) {
        uint32_t e = load32(entries + 4 * uint64_t(i));
        km.keys_end += e & L::offlen_mask;
        if (e & L::has_off)
            break;
    }
    if (km.keys_end > data_len) {
        res.st = status::malformed;
        return false;
    }
    km.bytes_read = std::max<uint64_t>(offset, km.keys_end);
    return true;
}

// The keys of the object at root matched (match_keys): last_ when the object's header, key
// entries and key bytes are those of the object last matched, as the rows of one table mostly
// are (one comparison of a hundred bytes then stands for a merge that compared every key),
// else matched now into last_, or into scratch for an object too large to remember.
const feature_extractor::key_match*
feature_extractor::matched_keys(const uint8_t* root, uint32_t count, const uint8_t* data,
                                size_t data_len, key_match& scratch, result& res) const
{
    const size_t head = 4 + 4 * size_t(count);
    if (last_valid_ && last_.bytes_read <= data_len &&
        last_head_.size() == head + last_.bytes_read &&
        memcmp(last_head_.data(), root, head) == 0 &&
        memcmp(last_head_.data() + head, data, last_.bytes_read) == 0)
        return &last_;
    const bool remember = count <= max_keys();
    key_match& km = remember ? last_ : scratch;
    last_valid_ = false;
    if (!match_keys(root + 4, count, data, data_len, km, res))
        return nullptr;
    if (remember && km.bytes_read <= max_key_bytes()) {
        last_head_.assign(reinterpret_cast<const char*>(root), head);
        last_head_.append(reinterpret_cast<const char*>(data), km.bytes_read);
        last_valid_ = true;
    }
    return &km;
}

feature_extractor::result feature_extractor::extract(const uint8_t* root, size_t len,
                                                     float* row) const
{
    result res;
    if (len < 4) {
        res.st = status::malformed;
        return res;
    }
    uint32_t header = load32(root);
    if (!(header & L::flag_object) || (header & (L::flag_array | L::flag_scalar))) {
        res.st = status::not_object;
        return res;
    }
    uint32_t count = header & L::count_mask;
    if (4 + 8 * uint64_t(count) > len) {
        res.st = status::malformed;
        return res;
    }
    const uint8_t* entries = root + 4;
    const uint8_t* data = entries + 8 * size_t(count);
    size_t data_len = len - 4 - 8 * size_t(count);

    key_match scratch;
    const key_match* km = matched_keys(root, count, data, data_len, scratch, res);
    if (km == nullptr)
        return res;
    for (int32_t f : km->missing)
        if (!fill_missing(column_[size_t(f)], row, res))
            return res;

    // Values: their entries follow the keys'; walk to the last matched one.
    uint32_t offset = uint32_t(km->keys_end);
    for (int64_t k = 0; k <= km->last_match; k++) {
        uint32_t e = load32(entries + 4 * (count + uint64_t(k)));
        uint32_t end = (e & L::has_off) ? (e & L::offlen_mask) : offset + (e & L::offlen_mask);
        if (end < offset || end > data_len) {
            res.st = status::malformed;
            return res;
        }
        uint32_t start = offset;
        offset = end;
        const int32_t f = km->match[size_t(k)];
        if (f < 0)
            continue;
        int32_t c = column_[size_t(f)];
        switch (e & L::type_mask) {
        case L::is_numeric: {
            uint32_t aligned = uint32_t(L::int_aligned(start));
            float x;
            if (aligned > end || !decode_float(data + aligned, end - aligned, &x)) {
                res.st = status::malformed;
                res.feature = c;
                return res;
            }
            if (!std::isfinite(x)) {
                res.st = status::out_of_range;
                res.feature = c;
                return res;
            }
            row[c] = x;
            break;
        }
        case L::is_true:
            row[c] = 1.0f;
            break;
        case L::is_false:
            row[c] = 0.0f;
            break;
        case L::is_null:
            if (!fill_missing(c, row, res))
                return res;
            break;
        default:
            res.st = status::bad_type;
            res.feature = c;
            res.found = (e & L::type_mask) == L::is_string ? "a string" : "an object or array";
            return res;
        }
    }
    return res;
}

} // namespace ai_scale::scoring
