#include "cache/jsonb_check.hpp"
#include "pg/jsonb_layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

using ai_scale::cache::jsonb_binary_valid;

namespace {

// jsonb binaries as PostgreSQL 15 wrote them (cache_put, then the payload read back from Redis).
struct fixture {
    const char* json;
    const char* hex;
};
const fixture genuine[] = {
    {"{}", "00000020"},
    {"[]", "00000040"},
    {"{\"s\": 0.5}", "01000020010000800b0000107300000020000000ff808813"},
    {"true", "01000050000000b0"},
    {"null", "01000050000000c0"},
    {"7", "01000050080000902000000000800700"},
    {"\"plain string\"", "010000500c000080706c61696e20737472696e67"},
    {"{\"a\": {\"b\": [1, {\"c\": \"d\"}]}, \"z\": [[], {}], \"é\": \"ünï €\"}",
     "03000020010000800100000002000000320000501600005009000000617ac3a901000020010000802500005062"
     "00000002000040080000900e000050200000000080010001000020010000800100000063640000020000400400"
     "00d0040000500000004000000020c3bc6ec3af20e282ac"},
    {"[1, -2.5, 1e30, 0.000001, 123456789012345678901234567890, false, null, \"x\"]",
     "08000040080000900a0000100a0000100800001016000010000000200000004001000000200000000080010028"
     "00000080a00200881300002000000007806400200000007e8364005800000007800c00800dd21ed2042e163423"
     "800dd21e78"},
};
// {"k00": 0, ..., "k32": 32, "k33": "thirty-three", "k34": [34]}: more than 32 entries, so some
// store their end offset rather than their length (JB_OFFSET_STRIDE).
const char* many_keys_hex =
    "23000020030000800300000003000000030000000300000003000000030000000300000003000000030000000300"
    "00000300000003000000030000000300000003000000030000000300000003000000030000000300000003000000"
    "03000000030000000300000003000000030000000300000003000000030000000300000003000000630000800300"
    "000003000000090000100a0000100800001008000010080000100800001008000010080000100800001008000010"
    "08000010080000100800001008000010080000100800001008000010080000100800001008000010080000100800"
    "0010080000100800001008000010080000100800001008000010080000105c010090080000100800001008000010"
    "0c000000100000506b30306b30316b30326b30336b30346b30356b30366b30376b30386b30396b31306b31316b31"
    "326b31336b31346b31356b31366b31376b31386b31396b32306b32316b32326b32336b32346b32356b32366b3237"
    "6b32386b32396b33306b33316b33326b33336b333400000018000000008000002000000000800100200000000080"
    "02002000000000800300200000000080040020000000008005002000000000800600200000000080070020000000"
    "0080080020000000008009002000000000800a002000000000800b002000000000800c002000000000800d002000"
    "000000800e002000000000800f002000000000801000200000000080110020000000008012002000000000801300"
    "20000000008014002000000000801500200000000080160020000000008017002000000000801800200000000080"
    "19002000000000801a002000000000801b002000000000801c002000000000801d002000000000801e0020000000"
    "00801f0020000000008020007468697274792d746872656501000040080000902000000000802200";

std::string bytes(const std::string& hex)
{
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

void put32(std::string& b, size_t at, uint32_t v)
{
    std::memcpy(&b[at], &v, 4);
}
void put16(std::string& b, size_t at, uint16_t v)
{
    std::memcpy(&b[at], &v, 2);
}

bool no_nul(const char* s, size_t len)
{
    return std::memchr(s, 0, len) == nullptr;
}

bool valid(const std::string& b)
{
    return jsonb_binary_valid(b.data(), b.size(), no_nul);
}

std::vector<std::string> seen_strings;
bool record_string(const char* s, size_t len)
{
    seen_strings.emplace_back(s, len);
    return true;
}

} // namespace

TEST(JsonbCheck, AcceptsWhatPostgresWrote)
{
    for (const auto& f : genuine)
        EXPECT_TRUE(valid(bytes(f.hex))) << f.json;
    EXPECT_TRUE(valid(bytes(many_keys_hex)));
}

TEST(JsonbCheck, RefusesEveryTruncation)
{
    std::vector<std::string> all = {bytes(many_keys_hex)};
    for (const auto& f : genuine)
        all.push_back(bytes(f.hex));
    for (const auto& b : all)
        for (size_t n = 0; n < b.size(); n++)
            EXPECT_FALSE(valid(b.substr(0, n))) << n << " of " << b.size() << " bytes";
}

TEST(JsonbCheck, HandsEveryKeyAndStringToTheStringCheck)
{
    seen_strings.clear();
    std::string b = bytes(genuine[7].hex);
    ASSERT_TRUE(jsonb_binary_valid(b.data(), b.size(), record_string));
    std::sort(seen_strings.begin(), seen_strings.end());
    EXPECT_EQ(seen_strings, (std::vector<std::string>{"a", "b", "c", "d", "z", "\xc3\xa9",
                                                      "\xc3\xbcn\xc3\xaf \xe2\x82\xac"}));
    EXPECT_FALSE(jsonb_binary_valid(b.data(), b.size(), [](const char*, size_t) { return false; }));
}

// {"s": 0.5}: header at 0, the key's entry at 4, the value's at 8; data from 12: "s", 3 bytes of
// padding, then the numeric at 16 (varlena header 16, numeric header 20, one digit 22).
class ObjectWithNumber : public ::testing::Test {
  protected:
    std::string b = bytes(genuine[2].hex);
};

TEST_F(ObjectWithNumber, RefusesCountsAndSpansOutsideTheValue)
{
    ASSERT_TRUE(valid(b));
    std::string c = b;
    put32(c, 0, 0x2FFFFFFF); // 268M pairs
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 8, 0x1000000C); // the value one byte longer than the data
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 4, 0x8000000D); // the key's end offset past the data
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 8, 0x90000000); // the value's end offset before its start
    EXPECT_FALSE(valid(c));
}

TEST_F(ObjectWithNumber, RefusesWrongKindsAndTypes)
{
    std::string c = b;
    put32(c, 4, 0x90000001); // a key that is a number
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 8, 0x6000000B); // an entry type Postgres does not have
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 0, 0x60000001); // both object and array
    EXPECT_FALSE(valid(c));
    c = b;
    put32(c, 0, 0xA0000001); // a header bit Postgres never sets
    EXPECT_FALSE(valid(c));
    c = b;
    c[12] = '\0'; // the string check sees the key
    EXPECT_FALSE(valid(c));
}

// A key that is a number, itself well formed: {"abcdefgh": 0.5} with the key's entry typed
// numeric and its bytes those of 0.5. (The case above, a one-byte number, is refused by the
// number's own check before the key's type is looked at.)
TEST(JsonbCheck, RefusesAWellFormedNumberAsAKey)
{
    const std::string half = "20000000ff808813";
    ASSERT_TRUE(valid(bytes("01000020"
                            "08000000"
                            "08000010"
                            "6162636465666768" +
                            half)));
    EXPECT_FALSE(valid(bytes("01000020"
                             "08000010"
                             "08000010" +
                             half + half)));
}

TEST_F(ObjectWithNumber, RefusesNumbersPostgresCouldNotReadSafely)
{
    std::string c = b;
    c[16] = 0x22; // compressed varlena
    EXPECT_FALSE(valid(c));
    c = b;
    c[16] = 0x01; // external (TOAST pointer)
    EXPECT_FALSE(valid(c));
    c = b;
    c[16] = 0x30; // 12 bytes, more than the entry's span
    EXPECT_FALSE(valid(c));
    c = b;
    put16(c, 20, 0xC000); // NaN
    EXPECT_FALSE(valid(c));
    c = b;
    put16(c, 20, 0xD000); // Infinity
    EXPECT_FALSE(valid(c));
    c = b;
    put16(c, 22, 10000); // a digit out of base 10000
    EXPECT_FALSE(valid(c));
    c = b;
    put16(c, 22, 0xFFFF);
    EXPECT_FALSE(valid(c));
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
TEST(JsonbCheck, AcceptsANumberWithAOneByteHeader)
{
    // 7 as a scalar, its numeric with a short varlena header (5 bytes: header, n_header, digit).
    std::string b = bytes("01000050050000900b00800700");
    EXPECT_TRUE(valid(b));
    b[4] = 0x04; // a span one byte too short for the numeric
    EXPECT_FALSE(valid(b));
}
#endif

TEST(JsonbCheck, ScalarsAndWrappers)
{
    // [null, "x"], then the null given a byte of data.
    std::string b = bytes("02000040000000c00100000078");
    ASSERT_TRUE(valid(b));
    std::string c = b;
    put32(c, 4, 0xC0000001);
    put32(c, 8, 0x00000000);
    EXPECT_FALSE(valid(c));
    EXPECT_FALSE(valid(bytes("02000050000000c0000000c0"))); // a scalar wrapper of two
    // [[null]] is fine; a scalar wrapper inside an array is not.
    EXPECT_TRUE(valid(bytes("01000040080000d001000040000000c0")));
    EXPECT_FALSE(valid(bytes("01000040080000d001000050000000c0")));
}

TEST(JsonbCheck, ChecksDeepNestingWithoutRecursion)
{
    // 200,000 arrays, each holding the next: [[[...[]...]]].
    const size_t depth = 200000;
    std::string b(depth * 8, '\0');
    for (size_t i = 0; i < depth; i++) { // the one at i holds 4 + 8 * (depth - 1 - i) bytes
        put32(b, i * 8, 0x40000001);
        put32(b, i * 8 + 4, 0xD0000000 | uint32_t(4 + 8 * (depth - 1 - i)));
    }
    b += bytes("00000040");
    EXPECT_TRUE(valid(b));
    put32(b, b.size() - 4, 0x40000001); // the innermost claims an element it lacks
    EXPECT_FALSE(valid(b));
}

namespace {

using ai_scale::cache::jsonb_numbers_minimal;

bool minimal(const std::string& b)
{
    return jsonb_numbers_minimal(b.data(), b.size());
}

// A numeric datum: four-byte varlena header, n_header (and, long format, the weight), digits.
std::string numeric_datum(std::vector<uint16_t> head, std::vector<uint16_t> digits)
{
    std::string b(4 + 2 * (head.size() + digits.size()), '\0');
    put32(b, 0, uint32_t(b.size()) << 2);
    size_t at = 4;
    for (uint16_t h : head)
        put16(b, std::exchange(at, at + 2), h);
    for (uint16_t d : digits)
        put16(b, std::exchange(at, at + 2), d);
    return b;
}

int min_scale_of(std::vector<uint16_t> head, std::vector<uint16_t> digits)
{
    namespace L = ai_scale::pg::jsonb_layout;
    const std::string b = numeric_datum(head, digits);
    L::numeric_view num;
    EXPECT_TRUE(L::read_numeric(reinterpret_cast<const uint8_t*>(b.data()), b.size(), &num));
    return L::min_scale(num);
}

} // namespace

TEST(JsonbNumbersMinimal, MinScaleAsNumericMinScale)
{
    // Short format: 0x8000 | dscale << 7 | weight (7 bits, two's complement).
    EXPECT_EQ(min_scale_of({0x8000 | 2 << 7}, {1, 5000}), 1);           // 1.50
    EXPECT_EQ(min_scale_of({0x8000 | 1 << 7}, {9}), 0);                 // 9.0
    EXPECT_EQ(min_scale_of({0x8000}, {1000}), 0);                       // 1e3
    EXPECT_EQ(min_scale_of({0x8000 | 3 << 7 | 0x7F}, {100}), 2);        // 0.010
    EXPECT_EQ(min_scale_of({0x8000 | 4 << 7 | 0x7F}, {1}), 4);          // 0.0001
    EXPECT_EQ(min_scale_of({0x8000 | 8 << 7 | 0x7E}, {1}), 8);          // 0.00000001
    EXPECT_EQ(min_scale_of({0x8000 | 5 << 7 | 1}, {1, 2345, 6789}), 4); // 12345.67890
    EXPECT_EQ(min_scale_of({0x8000 | 2 << 7}, {}), 0);                  // 0.00
    EXPECT_EQ(min_scale_of({0x8000 | 2 << 7}, {5, 0}), 0);              // a zero digit not stripped
    // Long format (a display scale over 63): 1.(69 zeros)1 written with 72 decimals.
    std::vector<uint16_t> digits(19, 0);
    digits[0] = 1;
    digits[18] = 100;
    EXPECT_EQ(min_scale_of({72, 0}, digits), 70);
    EXPECT_EQ(min_scale_of({0x4000 | 72, 0}, digits), 70); // negative
}

// jsonb binaries PostgreSQL 15 wrote (read back from Redis, as the fixtures above).
TEST(JsonbNumbersMinimal, TellsNumbersWrittenWithMoreDecimalsThanNeeded)
{
    for (const auto& f : genuine)
        EXPECT_TRUE(minimal(bytes(f.hex))) << f.json;
    EXPECT_TRUE(minimal(bytes(many_keys_hex)));
    EXPECT_FALSE(minimal(bytes("01000020010000800b000010610000002000000080800900"))); // {"a": 9.0}
    EXPECT_TRUE(minimal(bytes("01000020010000800b000010610000002000000000800900")));  // {"a": 9}
    EXPECT_FALSE(minimal(bytes("01000050080000902000000080800900")));                 // 9.0
    EXPECT_TRUE(minimal(bytes("01000050080000902000000000800900")));                  // 9
    // [1.50, {"b": 2.000}, -0.0, 1e3, 1.0e-2], then [1.5, {"b": 2}, 0, 1000, 0.01]: each number
    // of the first written minimally gives the second's bytes.
    const std::string wide = bytes(
        "050000400a0000901a000050060000100a0000100800001028000000008101008813000001000020010000800b"
        "0000106200000020000000808102001800000080800000200000000080e80320000000ff816400");
    const std::string brief = bytes(
        "050000400a0000901a000050060000100a0000100800001028000000808001008813000001000020010000800b"
        "0000106200000020000000008002001800000000800000200000000080e803200000007f816400");
    EXPECT_FALSE(minimal(wide));
    EXPECT_TRUE(minimal(brief));
    std::string only_nested = brief; // 2.000 in the inner object, the rest minimal
    put16(only_nested, 56, 0x8180);
    EXPECT_FALSE(minimal(only_nested));
    // 1.(70 zeros) and 1.(69 zeros)1: long format.
    EXPECT_FALSE(minimal(bytes("010000500a00009028000000460000000100")));
    EXPECT_TRUE(minimal(bytes("010000502e000090b8000000460000000100000000000000000000000000000000"
                              "000000000000000000000000000000000000006400")));
    // A numeric with a one-byte varlena header is rebuilt too: jsonb_in makes four-byte ones.
    EXPECT_FALSE(minimal(bytes("01000050050000900b00800700")));
    // What jsonb_binary_valid refuses is never taken as it is.
    std::string b = bytes(genuine[2].hex);
    for (size_t n = 0; n < b.size(); n++)
        EXPECT_FALSE(minimal(b.substr(0, n)));
}

TEST(JsonbNumbersMinimal, WalksManyNestedContainers)
{
    // [[9], [9], ... 40 times], then the last one 9.0: containers beyond the inline todo stack.
    std::string inner = bytes("01000040080000902000000000800900");
    std::string b(4 + 40 * 4, '\0');
    put32(b, 0, 0x40000000 | 40);
    for (uint32_t i = 0; i < 40; i++)
        put32(b, 4 + 4 * i, 0x50000000 | uint32_t(inner.size()));
    for (int i = 0; i < 40; i++)
        b += inner;
    EXPECT_TRUE(valid(b));
    EXPECT_TRUE(minimal(b));
    put16(b, b.size() - 4, 0x8080);
    EXPECT_FALSE(minimal(b));
}
