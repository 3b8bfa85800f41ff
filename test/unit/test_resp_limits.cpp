// The limits checked on Redis replies before hiredis reads them (cache/resp_limits.hpp).
#include "cache/resp_limits.hpp"
#include "cache/transfer_allowance.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ai_scale::cache;

namespace {

resp_limits small()
{
    return {1000, 10};
}

// Feeds s one byte at a time (replies arrive in any pieces).
bool feed_bytes(resp_scanner& s, const std::string& bytes)
{
    for (char c : bytes)
        if (!s.feed(&c, 1))
            return false;
    return true;
}

} // namespace

TEST(RespLimits, CountsCompleteReplies)
{
    resp_scanner s(small());
    EXPECT_TRUE(s.feed("+OK\r\n:42\r\n$-1\r\n", 15));
    EXPECT_EQ(s.complete(), 3u);
    EXPECT_TRUE(s.feed("$5\r\nhel", 7));
    EXPECT_EQ(s.complete(), 3u);
    EXPECT_TRUE(s.feed("lo\r\n", 4));
    EXPECT_EQ(s.complete(), 4u);
    EXPECT_TRUE(feed_bytes(s, "*3\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n"));
    EXPECT_EQ(s.complete(), 5u);
    EXPECT_TRUE(feed_bytes(s, "*0\r\n*-1\r\n-ERR wrong type\r\n"));
    EXPECT_EQ(s.complete(), 8u);
}

TEST(RespLimits, BulkBinaryDataMayHoldCrLf)
{
    resp_scanner s(small());
    EXPECT_TRUE(feed_bytes(s, std::string("$6\r\n\r\n*9\0\n\r\n", 12)));
    EXPECT_EQ(s.complete(), 1u);
}

TEST(RespLimits, RefusesAHugeArrayHeaderBeforeItsElements)
{
    resp_scanner s(small());
    EXPECT_FALSE(s.feed("*2000000000\r\n", 13));
    EXPECT_NE(s.why().find("2000000000 elements"), std::string::npos);
    EXPECT_FALSE(s.feed("+OK\r\n", 5)); // stays refused

    resp_scanner nested(small());
    EXPECT_FALSE(feed_bytes(nested, "*1\r\n*2000000000\r\n"));
    resp_scanner summed(small()); // 6 + 6 elements: each under 10, together over
    EXPECT_FALSE(feed_bytes(summed, "*6\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n*6\r\n"));
}

TEST(RespLimits, RefusesAHugeBulkHeaderAndTooManyBytes)
{
    resp_scanner s(small());
    EXPECT_FALSE(s.feed("$1000000\r\n", 10));
    EXPECT_NE(s.why().find("1000000 bytes"), std::string::npos);

    resp_scanner many(small());
    std::string line = "+" + std::string(600, 'x') + "\r\n";
    EXPECT_TRUE(many.feed(line.data(), line.size()));
    EXPECT_FALSE(many.feed(line.data(), line.size()));
}

// One element of an MGET may be as large as one value, not as the whole round trip's budget.
TEST(RespLimits, RefusesOneBulkOverTheLargestValue)
{
    resp_limits l = limits_for({{"MGET", "a", "b", "c", "d"}}, 1000);
    EXPECT_GE(l.max_bytes, 4000u);
    EXPECT_EQ(l.max_bulk_bytes, 1000u);
    resp_scanner ok(l);
    EXPECT_TRUE(feed_bytes(ok, "*4\r\n$1000\r\n"));
    resp_scanner s(l);
    EXPECT_FALSE(feed_bytes(s, "*4\r\n$-1\r\n$3000\r\n"));
    EXPECT_NE(s.why().find("3000 bytes"), std::string::npos) << s.why();
}

TEST(RespLimits, RefusesWhatIsNotResp)
{
    for (const std::string bad :
         {"?\r\n", "$abc\r\n", "$3\r\nabcXY", ":1\rX", "*123456789012345678901234\r\n", "$\r\n",
          "$ 13\r\n", "$+3\r\n", "*-5\r\n", "$-2\r\n", "*+1\r\n"}) {
        resp_scanner s(small());
        EXPECT_FALSE(feed_bytes(s, bad)) << bad;
    }
    resp_scanner deep({1000, 100});
    EXPECT_FALSE(feed_bytes(deep, "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"));
}

TEST(RespLimits, LimitsFollowTheCommands)
{
    const uint64_t v = 64u << 20;
    resp_limits get = limits_for({{"GET", "k"}}, v);
    EXPECT_GT(get.max_bytes, v);
    EXPECT_LT(get.max_bytes, v + 65536);
    EXPECT_EQ(get.max_elements, 0u);

    resp_limits mget = limits_for({{"MGET", "a", "b", "c"}}, 1000);
    EXPECT_EQ(mget.max_elements, 3u);
    EXPECT_GE(mget.max_bytes, 3000u);

    resp_limits info = limits_for({{"info", "replication"}}, v);
    EXPECT_LE(info.max_bytes, 1u << 20);

    resp_limits sets = limits_for({{"SET", "a", "x", "PX", "1"}, {"SET", "b", "y", "PX", "1"}}, v);
    EXPECT_LT(sets.max_bytes, 1u << 20);
    EXPECT_GT(sets.max_bytes, 0u);
}

TEST(RespLimits, SumsTheValuesAnnounced)
{
    resp_scanner s({1u << 20, 10});
    // A nil, an empty value and an integer announce nothing; a value its length, counted from
    // its header, before its bytes arrive.
    ASSERT_TRUE(feed_bytes(s, "$-1\r\n$0\r\n\r\n:7\r\n"));
    EXPECT_EQ(s.announced_bulk_bytes(), 0u);
    ASSERT_TRUE(feed_bytes(s, "$5\r\nab"));
    EXPECT_EQ(s.announced_bulk_bytes(), 5u);
    // An MGET's values, each as its header comes.
    ASSERT_TRUE(feed_bytes(s, "cde\r\n*3\r\n$3\r\nxyz\r\n$-1\r\n$1000\r\n"));
    EXPECT_EQ(s.announced_bulk_bytes(), 1008u);
    EXPECT_EQ(s.complete(), 4u);
}

TEST(TransferAllowance, OneSecondForEachEightMegabytes)
{
    EXPECT_EQ(transfer_allowance(0).count(), 0);
    EXPECT_EQ(transfer_allowance(8u << 20), std::chrono::seconds(1));
    EXPECT_EQ(transfer_allowance(64u << 20), std::chrono::seconds(8));
    // A 1 kB value: about 0.1 ms, nothing a small round trip notices.
    EXPECT_EQ(transfer_allowance(1024).count(), 122);
    // The largest reply budget of a round trip (100 keys of 64 MB each, were they allowed)
    // does not overflow.
    EXPECT_EQ(transfer_allowance(uint64_t(100) * (64u << 20)), std::chrono::seconds(800));
}
