#include "cache/l2_format.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::l2_header;
using ai_scale::cache::l2_payload;
using ai_scale::cache::unwrap_l2_payload;
using ai_scale::cache::wrap_l2_payload;

namespace {
const std::string payload("\x01\x00\x00\x50\x00\x00\x00\xc0", 8); // jsonb null
}

TEST(L2Format, RoundTripsThePayloadAndExpiry)
{
    std::string v = wrap_l2_payload(payload.data(), payload.size(), 1798761600123);
    l2_payload p;
    ASSERT_TRUE(unwrap_l2_payload(v, &p));
    EXPECT_EQ(std::string(p.data, p.len), payload);
    EXPECT_EQ(p.expires_unix_ms, 1798761600123u);
}

// cache_put sends the header and then the output's payload from where it lies: the two make
// the stored value.
TEST(L2Format, HeaderThenPayloadIsTheValue)
{
    const std::string h = l2_header(payload.data(), payload.size(), 1798761600123);
    EXPECT_EQ(h.size(), 20u);
    EXPECT_EQ(h + payload, wrap_l2_payload(payload.data(), payload.size(), 1798761600123));
}

TEST(L2Format, RefusesWhatIsNotOurs)
{
    const std::string v = wrap_l2_payload(payload.data(), payload.size(), 1);
    l2_payload p;
    EXPECT_FALSE(unwrap_l2_payload("", &p));
    EXPECT_FALSE(unwrap_l2_payload("some other application's value", &p));
    EXPECT_FALSE(unwrap_l2_payload(v.substr(0, v.size() - 5), &p)); // no room for a jsonb header
    std::string c = v;
    c[0] = 'X'; // magic
    EXPECT_FALSE(unwrap_l2_payload(c, &p));
    c = v;
    c.back() ^= 0x40; // damaged payload: the checksum no longer matches
    EXPECT_FALSE(unwrap_l2_payload(c, &p));
    c = v;
    c[12] ^= 0x01; // damaged checksum
    EXPECT_FALSE(unwrap_l2_payload(c, &p));
}
