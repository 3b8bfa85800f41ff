#include "cache/generation_slots.hpp"
#include "cache/unsent_bumps_format.hpp"

#include <gtest/gtest.h>

namespace unsent = ai_scale::cache::unsent_bumps;
using slots = std::vector<unsent::carried>;

TEST(UnsentBumpsFormat, TheFileReadsBackWhatWasWritten)
{
    const uint32_t last = ai_scale::cache::generation::n_slots - 1;
    for (const slots& s : {slots{}, slots{{0, 0}}, slots{{7, 0}, {4096, 1}, {last, UINT64_MAX}}})
        EXPECT_EQ(unsent::parse(unsent::format(s)), s);
    EXPECT_EQ(unsent::format({{3, 0}, {65535, 4294967296}}),
              "ai_scale unsent generation bumps 2\n3\n65535 4294967296\nend\n");

    slots all;
    for (uint32_t s = 0; s <= last; s++)
        all.push_back({s, s % 2 ? 0 : UINT64_MAX - s});
    EXPECT_EQ(unsent::parse(unsent::format(all)), all) << "every slot";
}

// The reader takes up to max_line_bytes a slot (unsent_bumps.cpp): a longer line made a file of
// many slots too long, read as damaged.
TEST(UnsentBumpsFormat, NoLineIsLongerThanMaxLineBytes)
{
    const std::string empty = unsent::format({});
    const uint32_t last = ai_scale::cache::generation::n_slots - 1;
    EXPECT_EQ(unsent::format({{last, UINT64_MAX}}).size() - empty.size(), unsent::max_line_bytes);
}

// A file cut short, or written by something else, is no list: the server then marks every slot
// (unsent_bumps.hpp), where taking it for a shorter list lost the invalidations of the rest.
TEST(UnsentBumpsFormat, AnythingElseIsNoList)
{
    const std::string head = "ai_scale unsent generation bumps 2\n";
    EXPECT_FALSE(unsent::parse(""));
    EXPECT_FALSE(unsent::parse(head)) << "no end: cut short";
    EXPECT_FALSE(unsent::parse(head + "3\n")) << "cut short after a slot";
    EXPECT_FALSE(unsent::parse(head + "3\nen")) << "cut short in the end line";
    EXPECT_FALSE(unsent::parse(head + "end")) << "no newline after end";
    EXPECT_FALSE(unsent::parse(head + "end\n\n")) << "something after end";
    EXPECT_FALSE(unsent::parse("ai_scale unsent generation bumps 3\nend\n")) << "another format";
    EXPECT_FALSE(unsent::parse(head + "65536\nend\n")) << "past the last slot";
    EXPECT_FALSE(unsent::parse(head + "4294967296\nend\n")) << "past 32 bits";
    EXPECT_FALSE(unsent::parse(head + "5\n3\nend\n")) << "out of order";
    EXPECT_FALSE(unsent::parse(head + "3\n3\nend\n")) << "twice";
    EXPECT_FALSE(unsent::parse(head + "03\nend\n")) << "a leading zero";
    EXPECT_FALSE(unsent::parse(head + "-3\nend\n"));
    EXPECT_FALSE(unsent::parse(head + "+3\nend\n"));
    EXPECT_FALSE(unsent::parse(head + " 3\nend\n"));
    EXPECT_FALSE(unsent::parse(head + "3 \nend\n"));
    EXPECT_FALSE(unsent::parse(head + "\nend\n")) << "an empty line";
    EXPECT_FALSE(unsent::parse(head + "3\r\nend\n"));
    EXPECT_FALSE(unsent::parse(head + std::string("3\0\nend\n", 7)));
    EXPECT_FALSE(unsent::parse(head + "3 0\nend\n")) << "a generation of 0";
    EXPECT_FALSE(unsent::parse(head + "3 18446744073709551616\nend\n")) << "past 64 bits";
    EXPECT_FALSE(unsent::parse(head + "3  5\nend\n"));
    EXPECT_FALSE(unsent::parse(head + "3 05\nend\n"));
    EXPECT_FALSE(unsent::parse(head + "3 5 \nend\n"));
    EXPECT_FALSE(unsent::parse(head + "3 \nend\n"));
}

// A file of another header (an earlier build's slots-only list, say) is no list: it marks every
// slot.
TEST(UnsentBumpsFormat, AnotherHeaderIsNoList)
{
    EXPECT_FALSE(unsent::parse("ai_scale unsent generation bumps 1\n3\n65535\nend\n"));
    EXPECT_FALSE(unsent::parse("ai_scale unsent generation bumps 3\n3\nend\n"));
}
