// The byte ring of the async store queue: wrap-around, fill accounting, the wake-up point.
#include "predict/ring.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

using ai_scale::predict::byte_ring;
using ai_scale::predict::padded;

TEST(PredictRing, WritesAndReadsAcrossTheEnd)
{
    std::vector<char> buf(16, '.');
    byte_ring ring{buf.data(), buf.size()};
    const std::string entry = "0123456789"; // 10 bytes starting at 12: 4 at the end, 6 at 0
    ring.write(12, entry.data(), entry.size());
    EXPECT_EQ(std::string(buf.begin(), buf.end()), "456789......0123");
    std::string back(entry.size(), '?');
    ring.read(12, back.data(), back.size());
    EXPECT_EQ(back, entry);
}

TEST(PredictRing, PositionsNeverWrapOnlyOffsetsDo)
{
    std::vector<char> buf(24);
    byte_ring ring{buf.data(), buf.size()};
    uint64_t head = (uint64_t(1) << 40) + 20, tail = head; // far past 2^32 bytes ever written
    std::vector<std::string> written;
    for (int i = 0; i < 50; i++) {
        std::string e(size_t(1 + i % 7), char('a' + i % 26));
        ASSERT_TRUE(ring.fits(head, tail, e.size()));
        ring.write(head, e.data(), e.size());
        head += e.size();
        written.push_back(e);
        // Drain as a worker would, oldest first, whenever more than half is held.
        while (head - tail > buf.size() / 2) {
            std::string got(written.front().size(), '?');
            ring.read(tail, got.data(), got.size());
            EXPECT_EQ(got, written.front()) << "entry " << i;
            tail += got.size();
            written.erase(written.begin());
        }
    }
}

TEST(PredictRing, FitsIsAllOrNothing)
{
    std::vector<char> buf(64);
    byte_ring ring{buf.data(), buf.size()};
    EXPECT_TRUE(ring.fits(100, 100, 64));  // empty: exactly full fits
    EXPECT_FALSE(ring.fits(100, 100, 65)); // one byte more does not
    EXPECT_TRUE(ring.fits(140, 100, 24));
    EXPECT_FALSE(ring.fits(140, 100, 25));
}

TEST(PredictRing, WakesOnceWhenCrossingHalf)
{
    std::vector<char> buf(64);
    byte_ring ring{buf.data(), buf.size()};
    EXPECT_FALSE(ring.crosses_half(0, 0, 32)); // to exactly half: not yet
    EXPECT_TRUE(ring.crosses_half(0, 0, 33));
    EXPECT_TRUE(ring.crosses_half(32, 0, 1));
    EXPECT_FALSE(ring.crosses_half(40, 0, 8)); // already past half: the worker was woken
}

TEST(PredictRing, PaddingKeepsHeadersAligned)
{
    EXPECT_EQ(padded(0), 0u);
    EXPECT_EQ(padded(1), 8u);
    EXPECT_EQ(padded(8), 8u);
    EXPECT_EQ(padded(41), 48u);
}
