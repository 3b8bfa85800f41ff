#include "scoring/model_lru.hpp"

#include <gtest/gtest.h>

#include <memory>

using ai_scale::scoring::model_lru;

TEST(ModelLru, DropsLeastRecentlyUsedPastTheLimit)
{
    model_lru<int> c;
    size_t dropped = 0;
    c.insert("a", 1, 40, 100, &dropped);
    c.insert("b", 2, 40, 100, &dropped);
    EXPECT_EQ(dropped, 0u);
    ASSERT_NE(c.find("a"), nullptr); // a is now the most recently used
    c.insert("c", 3, 40, 100, &dropped);
    EXPECT_EQ(dropped, 1u);
    EXPECT_EQ(c.find("b"), nullptr) << "b was the least recently used";
    EXPECT_EQ(*c.find("a"), 1);
    EXPECT_EQ(*c.find("c"), 3);
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.bytes(), 80u);
}

TEST(ModelLru, StaysWithinTheLimitOverManyInserts)
{
    model_lru<std::shared_ptr<int>> c;
    for (int i = 0; i < 10000; i++) {
        c.insert("v" + std::to_string(i), std::make_shared<int>(i), 1000, 64 * 1000);
        ASSERT_LE(c.bytes(), 64u * 1000);
    }
    EXPECT_EQ(c.size(), 64u);
    EXPECT_NE(c.find("v9999"), nullptr);
    EXPECT_EQ(c.find("v9935"), nullptr);
}

TEST(ModelLru, KeepsTheEntryJustInsertedEvenWhenItAloneIsTooLarge)
{
    model_lru<int> c;
    size_t dropped = 0;
    c.insert("small", 1, 10, 100);
    EXPECT_EQ(c.insert("huge", 2, 500, 100, &dropped), 2);
    EXPECT_EQ(dropped, 1u);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(*c.find("huge"), 2);
    c.insert("other", 3, 10, 0, &dropped); // a limit of 0 keeps only the last one
    EXPECT_EQ(dropped, 1u);
    EXPECT_EQ(c.find("huge"), nullptr);
    EXPECT_EQ(c.bytes(), 10u);
}

TEST(ModelLru, NeverReplacesAnEntry)
{
    model_lru<std::shared_ptr<int>> c;
    auto first = std::make_shared<int>(1);
    c.insert("k", first, 10, 100);
    const auto& kept = c.insert("k", std::make_shared<int>(2), 10, 100);
    EXPECT_EQ(kept, first);
    EXPECT_EQ(c.bytes(), 10u);
    c.clear();
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.bytes(), 0u);
    EXPECT_EQ(c.find("k"), nullptr);
}

TEST(ModelLru, EraseDropsOneEntryAndItsBytes)
{
    model_lru<int> c;
    c.insert("a", 1, 40, 100);
    c.insert("b", 2, 30, 100);
    c.erase("a");
    c.erase("missing");
    EXPECT_EQ(c.find("a"), nullptr);
    EXPECT_EQ(*c.find("b"), 2);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.bytes(), 30u);
    c.insert("c", 3, 70, 100); // fits beside b now that a's bytes are gone
    EXPECT_NE(c.find("b"), nullptr);
}
