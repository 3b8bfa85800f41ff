#include "cache/jsonb_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
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
