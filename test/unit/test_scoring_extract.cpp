// Feature extraction over jsonb's binary layout, on objects built here byte by byte the way
// Postgres lays them out (keys sorted by length then bytes, numerics int-aligned).
#include "scoring/extract.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

using namespace ai_scale::scoring;
namespace L = ai_scale::pg::jsonb_layout;

namespace {

void put16(std::string& s, uint16_t v)
{
    s.append(reinterpret_cast<const char*>(&v), 2);
}
void put32(std::string& s, uint32_t v)
{
    s.append(reinterpret_cast<const char*>(&v), 4);
}

// A numeric datum for a decimal string such as "-123.4567", short or long format.
std::string numeric(const std::string& text, bool long_format)
{
    bool neg = text[0] == '-';
    std::string t = neg ? text.substr(1) : text;
    size_t dot = t.find('.');
    std::string ip = dot == std::string::npos ? t : t.substr(0, dot);
    std::string fp = dot == std::string::npos ? "" : t.substr(dot + 1);
    while (ip.size() % 4)
        ip = "0" + ip;
    while (fp.size() % 4)
        fp += "0";
    std::vector<uint16_t> digits;
    for (size_t i = 0; i < ip.size(); i += 4)
        digits.push_back(uint16_t(std::stoi(ip.substr(i, 4))));
    int weight = int(ip.size() / 4) - 1;
    for (size_t i = 0; i < fp.size(); i += 4)
        digits.push_back(uint16_t(std::stoi(fp.substr(i, 4))));
    // As Postgres stores it: no zero digits at either end (zero has none, and weight 0).
    while (!digits.empty() && digits.front() == 0) {
        digits.erase(digits.begin());
        weight--;
    }
    while (!digits.empty() && digits.back() == 0)
        digits.pop_back();
    if (digits.empty())
        weight = 0;
    std::string payload;
    if (long_format) {
        put16(payload, uint16_t((neg ? 0x4000 : 0) | 4));
        put16(payload, uint16_t(int16_t(weight)));
    } else {
        put16(payload, uint16_t(0x8000 | (neg ? 0x2000 : 0) | (4 << 7) | (weight < 0 ? 0x40 : 0) |
                                (weight & 0x3F)));
    }
    for (uint16_t d : digits)
        put16(payload, d);
    std::string datum;
    put32(datum, uint32_t(payload.size() + 4) << 2);
    return datum + payload;
}

struct jvalue {
    uint32_t type;
    std::string bytes;
};

jvalue num(const std::string& text, bool long_format = false)
{
    return {L::is_numeric, numeric(text, long_format)};
}

// A jsonb root object; every stride-th entry stores an offset, like Postgres (stride 32).
std::string object(std::vector<std::pair<std::string, jvalue>> kv, int stride = 32)
{
    std::sort(kv.begin(), kv.end(),
              [](const auto& a, const auto& b) { return jsonb_key_less(a.first, b.first); });
    std::string data;
    std::vector<uint32_t> entries;
    auto add = [&](uint32_t type, const std::string& bytes, bool align) {
        size_t start = data.size();
        if (align)
            while (data.size() % 4)
                data += '\0';
        data += bytes;
        uint32_t len = uint32_t(data.size() - start);
        size_t i = entries.size();
        entries.push_back(i % size_t(stride) == 0 ? (type | L::has_off | uint32_t(data.size()))
                                                  : (type | len));
    };
    for (auto& p : kv)
        add(L::is_string, p.first, false);
    for (auto& p : kv)
        add(p.second.type, p.second.bytes, p.second.type == L::is_numeric);
    std::string out;
    put32(out, L::flag_object | uint32_t(kv.size()));
    for (uint32_t e : entries)
        put32(out, e);
    // The data area starts int-aligned in a real jsonb; this buffer starts at offset 0.
    return out + data;
}

feature_extractor::result run(const feature_extractor& fx, const std::string& root, float* row)
{
    return fx.extract(reinterpret_cast<const uint8_t*>(root.data()), root.size(), row);
}

} // namespace

TEST(ScoringExtract, DecodesNumerics)
{
    for (bool long_format : {false, true})
        for (const char* t : {"0", "1", "-1", "0.5", "12345.6789", "-0.0001", "99999999",
                              "123456789012.25", "-7.125"}) {
            std::string d = numeric(t, long_format);
            double v;
            ASSERT_TRUE(decode_numeric(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &v));
            EXPECT_DOUBLE_EQ(v, std::stod(t)) << t;
        }
    uint8_t nan_numeric[] = {6 << 2, 0, 0, 0, 0x00, 0xC0};
    double v;
    EXPECT_FALSE(decode_numeric(nan_numeric, sizeof nan_numeric, &v));
    uint8_t truncated[] = {40 << 2, 0, 0, 0, 0x00, 0x80};
    EXPECT_FALSE(decode_numeric(truncated, sizeof truncated, &v));
}

// Five base-10000 groups make integers up to 10^20, past uint64's 1.8e19: summed in a uint64
// they wrap, and a wrapped sum under 2^53 would pass for an exact small decimal
// (1845.0000000000000001 then read as 0.3256). Each is read as strtod reads its text: to a few
// units in the last place in double, exactly in float.
TEST(ScoringExtract, DecodesFiveGroupNumericsPastSixtyFourBits)
{
    for (bool long_format : {false, true})
        for (const char* t :
             {"1845.0000000000000001", "18450000000000000001", "1844.6744073709551617",
              "9999.9999999999999999", "-99999999999999999999", "1844.6744073709551615"}) {
            std::string d = numeric(t, long_format);
            double v;
            float f;
            ASSERT_TRUE(decode_numeric(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &v));
            ASSERT_TRUE(
                decode_numeric_float(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &f));
            EXPECT_DOUBLE_EQ(v, strtod(t, nullptr)) << t;
            EXPECT_EQ(f, float(strtod(t, nullptr))) << t;
        }
}

// A JSON number becomes the float of the nearest double, as numpy's float32() of a parsed
// number (what XGBoost saw). Summing the base-10000 digits in double is a few units off in
// the last place, which used to round doubles at or next to a float midpoint the wrong way:
// these inputs (found by test/scoring/diff_check.py) scored other tree branches than XGBoost.
TEST(ScoringExtract, DecodesNumericsToTheFloatOfTheNearestDouble)
{
    auto decode = [](const std::string& t, bool long_format) {
        std::string d = numeric(t, long_format);
        float f = NAN;
        EXPECT_TRUE(decode_numeric_float(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &f));
        return f;
    };
    for (const char* t :
         {"-0.47500000894069666", "0.49999998509883875", "2.99999988079071", "0.9999999701976776",
          "66.99999618530273", "3.700000166893006", "1.0000000596046448", "16777217", "-16777219",
          "0.1", "0", "-2.456", "340282356779733661637539395458142568448"})
        for (bool long_format : {false, true})
            EXPECT_EQ(decode(t, long_format), float(strtod(t, nullptr))) << t;
    // From the overflow tie (FLT_MAX + half an ulp, a double) up: infinity, which the caller
    // refuses; FLT_MAX itself stays.
    EXPECT_TRUE(std::isinf(decode("340282356779733661637539395458142568449", false)));
    EXPECT_EQ(decode("340282346638528859811704183484516925440", false), FLT_MAX);

    // Doubles at and next to float midpoints over many magnitudes, in %.17g's digits.
    uint64_t state = 12345;
    int checked = 0;
    for (int i = 0; i < 20000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        float f = std::ldexp(1.0f + float(state >> 41) / float(1 << 23), int(state % 50) - 13);
        double mid = (double(f) + double(std::nextafter(f, INFINITY))) / 2;
        double d = std::nextafter(mid, (state >> 8) % 3 == 0   ? -INFINITY
                                       : (state >> 8) % 3 == 1 ? INFINITY
                                                               : mid);
        // In 15 and 16 digits too: most of those take the exact path of an integer times a
        // power of ten, and lie within a few units in the last place of the midpoint.
        for (int digits : {15, 16, 17}) {
            char text[64];
            snprintf(text, sizeof text, "%.*g", digits, d);
            if (strchr(text, 'e') != nullptr)
                continue;
            double exact = strtod(text, nullptr);
            ASSERT_EQ(decode(text, false), float(exact)) << text;
            checked++;
        }
    }
    EXPECT_GT(checked, 30000);
}

// Numbers of up to 8 significant digits whose last digit is 10^-20 .. 10^20 take the exact
// path (an integer scaled by one power of ten): the nearest double, bit for bit.
TEST(ScoringExtract, DecodesShortNumericsToTheNearestDouble)
{
    uint64_t state = 777;
    for (int i = 0; i < 20000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const uint64_t m = (state >> 20) % 100000000;
        const int x = int((state >> 8) % 41) - 20;
        std::string text = std::to_string(m);
        if (x >= 0)
            text += std::string(size_t(x), '0');
        else {
            if (text.size() <= size_t(-x))
                text = std::string(size_t(-x) - text.size() + 1, '0') + text;
            text.insert(text.size() - size_t(-x), ".");
        }
        if (state & 1)
            text = "-" + text;
        std::string d = numeric(text, (state >> 1) & 1);
        double v;
        float f;
        ASSERT_TRUE(decode_numeric(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &v));
        ASSERT_TRUE(decode_numeric_float(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &f));
        ASSERT_EQ(v, strtod(text.c_str(), nullptr)) << text;
        ASSERT_EQ(f, float(strtod(text.c_str(), nullptr))) << text;
    }
}

TEST(ScoringExtract, MergesFeaturesByName)
{
    feature_extractor fx({"b", "long_name", "a", "cc"}, {NAN, NAN, NAN, NAN}, false);
    std::string root = object({{"a", num("1.5")},
                               {"zz", {L::is_string, "ignored"}},
                               {"cc", {L::is_true, ""}},
                               {"b", num("-2", true)},
                               {"long_name", num("1000.25")},
                               {"aaaaaaaaaaaaaaaaaaaa", {L::is_null, ""}}});
    float row[4];
    auto r = run(fx, root, row);
    ASSERT_EQ(r.st, feature_extractor::status::ok);
    EXPECT_FLOAT_EQ(row[0], -2);
    EXPECT_FLOAT_EQ(row[1], 1000.25f);
    EXPECT_FLOAT_EQ(row[2], 1.5f);
    EXPECT_FLOAT_EQ(row[3], 1);
}

TEST(ScoringExtract, ManyKeysAcrossOffsetStrides)
{
    std::vector<std::string> features;
    std::vector<std::pair<std::string, jvalue>> kv;
    for (int i = 0; i < 150; i++) {
        std::string k = "k" + std::to_string(i * 7 % 150);
        kv.push_back({k, num(std::to_string(i * 7 % 150) + ".5")});
        if (i % 3 == 0)
            features.push_back(k);
    }
    feature_extractor fx(features, std::vector<float>(features.size(), NAN), false);
    for (int stride : {32, 5, 1}) {
        std::string root = object(kv, stride);
        std::vector<float> row(features.size());
        ASSERT_EQ(run(fx, root, row.data()).st, feature_extractor::status::ok);
        for (size_t i = 0; i < features.size(); i++)
            EXPECT_FLOAT_EQ(row[i], std::stof(features[i].substr(1)) + 0.5f) << stride;
    }
}

TEST(ScoringExtract, MissingDefaultsAndErrors)
{
    std::string root = object({{"a", num("3")}, {"s", {L::is_string, "x"}}});
    float row[2];
    feature_extractor strict({"a", "b"}, {NAN, NAN}, false);
    auto r = run(strict, root, row);
    EXPECT_EQ(r.st, feature_extractor::status::missing);
    EXPECT_EQ(r.feature, 1);
    feature_extractor with_default({"a", "b"}, {NAN, 9}, false);
    ASSERT_EQ(run(with_default, root, row).st, feature_extractor::status::ok);
    EXPECT_FLOAT_EQ(row[1], 9);
    feature_extractor gbdt({"a", "b"}, {NAN, NAN}, true);
    ASSERT_EQ(run(gbdt, root, row).st, feature_extractor::status::ok);
    EXPECT_TRUE(std::isnan(row[1]));
    feature_extractor typed({"s"}, {NAN}, false);
    r = run(typed, root, row);
    EXPECT_EQ(r.st, feature_extractor::status::bad_type);
    EXPECT_STREQ(r.found, "a string");
    std::string array;
    put32(array, L::flag_array | 0);
    EXPECT_EQ(run(strict, array, row).st, feature_extractor::status::not_object);
    EXPECT_EQ(run(typed, root.substr(0, 10), row).st, feature_extractor::status::malformed);
    std::string huge = object({{"a", num("1", true)}});
    // Weight far beyond float range: 10000^100.
    huge = object({{"a", {L::is_numeric, [] {
                              std::string p, d;
                              put16(p, 4);
                              put16(p, 100);
                              put16(p, 1);
                              put32(d, uint32_t(p.size() + 4) << 2);
                              return d + p;
                          }()}}});
    feature_extractor one({"a"}, {NAN}, false);
    EXPECT_EQ(run(one, huge, row).st, feature_extractor::status::out_of_range);
}

// A number past float range whose base-10000 digits include a zero at a weight where 10000^k is
// past double range (78 to 80): 0 times infinity made it NaN, read as a missing value (a gbdt
// took the default branch and scored, where the number is out of range: 22003).
TEST(ScoringExtract, NumbersPastDoubleRangeWithZeroDigitsAreOutOfRange)
{
    float row[1];
    feature_extractor one({"a"}, {NAN}, false);
    feature_extractor gbdt({"a"}, {NAN}, true);
    // 10^316 + 10^308: digits 1, 0, 1 at weights 79, 78, 77.
    const std::string digits = "1" + std::string(7, '0') + "1" + std::string(308, '0');
    for (const std::string& text : {digits, "-" + digits}) {
        std::string root = object({{"a", num(text, true)}});
        EXPECT_EQ(run(one, root, row).st, feature_extractor::status::out_of_range) << text;
        EXPECT_EQ(run(gbdt, root, row).st, feature_extractor::status::out_of_range) << text;
    }
}

// The extractor remembers the keys of the object it read last: an object with the same keys
// reuses their match, whatever its values; any other keys are matched again.
TEST(ScoringExtract, RemembersTheLastKeysOnlyForTheSameKeys)
{
    feature_extractor fx({"c", "a", "b"}, {NAN, NAN, 7}, false);
    float row[3];
    auto expect_row = [&](const std::string& root, float c, float a, float b) {
        ASSERT_EQ(run(fx, root, row).st, feature_extractor::status::ok);
        EXPECT_FLOAT_EQ(row[0], c);
        EXPECT_FLOAT_EQ(row[1], a);
        EXPECT_FLOAT_EQ(row[2], b);
    };
    expect_row(object({{"a", num("1")}, {"b", num("2")}, {"c", num("3")}}), 3, 1, 2);
    // Same keys, values of other lengths (the values' offsets move).
    expect_row(object({{"a", num("12345.6789")}, {"b", num("-0.5", true)}, {"c", num("0")}}), 0,
               12345.6789f, -0.5f);
    // As many keys of the same lengths, one of them another name: b takes its default.
    expect_row(object({{"a", num("1")}, {"d", num("2")}, {"c", num("3")}}), 3, 1, 7);
    expect_row(object({{"a", num("4")}, {"d", num("5")}, {"c", num("6")}}), 6, 4, 7);
    // Fewer keys, then the first keys again.
    expect_row(object({{"a", num("1")}, {"c", num("3")}}), 3, 1, 7);
    expect_row(object({{"a", num("8")}, {"b", num("9")}, {"c", num("10")}}), 10, 8, 9);

    // A missing feature without a default is refused at every object, not only the first.
    feature_extractor strict({"a", "b"}, {NAN, NAN}, false);
    const std::string lacks_b = object({{"a", num("1")}, {"c", num("3")}});
    for (int i = 0; i < 2; i++) {
        auto r = run(strict, lacks_b, row);
        EXPECT_EQ(r.st, feature_extractor::status::missing) << i;
        EXPECT_EQ(r.feature, 1) << i;
    }

    // The same keys in an object cut short: malformed, whether the cut leaves the keys whole
    // (the remembered match applies, the values do not fit) or cuts into them.
    const std::string whole = object({{"a", num("1")}, {"b", num("2")}, {"c", num("3")}});
    const size_t keys_end = 4 + 8 * 3 + 3;
    for (size_t cut : {whole.size() - 1, keys_end + 1, keys_end - 1}) {
        ASSERT_EQ(run(fx, whole, row).st, feature_extractor::status::ok);
        EXPECT_EQ(run(fx, whole.substr(0, cut), row).st, feature_extractor::status::malformed)
            << cut;
    }
}

// A damaged object whose keys, read in order, pass where its entries say the keys end (an
// entry storing an offset behind them): the match is remembered from a buffer long enough
// for those keys, and a shorter buffer with the same bytes is still malformed.
TEST(ScoringExtract, RemembersOnlyKeysThatFitTheBuffer)
{
    std::string root;
    put32(root, L::flag_object | 2);
    put32(root, L::is_string | 10);             // key 0: "aaaaaaaaaa"
    put32(root, L::is_string | L::has_off | 3); // key 1 "ends" at 3: the keys end there
    put32(root, L::is_true | 0);                // value 0, at the keys' end
    put32(root, L::is_true | 0);
    root += "aaaaaaaaaa";
    feature_extractor fx({"aaaaaaaaaa"}, {NAN}, false);
    float row[1] = {0};
    ASSERT_EQ(run(fx, root, row).st, feature_extractor::status::ok);
    EXPECT_FLOAT_EQ(row[0], 1);
    EXPECT_EQ(run(fx, root.substr(0, root.size() - 5), row).st,
              feature_extractor::status::malformed);
}

// A number of one base-10000 digit or two is read without a loop; a digit of 10000 or more in
// either place is still refused.
TEST(ScoringExtract, RefusesADigitPastTheBaseInEitherPlace)
{
    for (int bad : {0, 1}) {
        std::string p, d;
        put16(p, 0x8000 | (4 << 7)); // short format, weight 0, 4 decimals
        put16(p, bad == 0 ? 10000 : 12);
        put16(p, bad == 1 ? 10000 : 3400);
        put32(d, uint32_t(p.size() + 4) << 2);
        float f;
        EXPECT_FALSE(decode_numeric_float(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &f))
            << bad;
        double v;
        EXPECT_FALSE(decode_numeric(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &v))
            << bad;
    }
    std::string ok = numeric("12.34", false);
    float f;
    ASSERT_TRUE(decode_numeric_float(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), &f));
    EXPECT_EQ(f, 12.34f);
}
