#include "partition/database_list.hpp"

#include <gtest/gtest.h>

using ai_scale::partition::database_listed;
using ai_scale::partition::invalid_database_list;
using ai_scale::partition::max_maintenance_databases;
using ai_scale::partition::parse_database_list;
using names = std::vector<std::string>;

TEST(DatabaseList, EmptyListHasNoNames)
{
    EXPECT_EQ(parse_database_list("", 64), names{});
    EXPECT_EQ(parse_database_list(" , ,, ", 64), names{});
}

TEST(DatabaseList, SpacesAroundNamesAreDropped)
{
    EXPECT_EQ(parse_database_list(" app , analytics,ops ", 64), (names{"app", "analytics", "ops"}));
}

TEST(DatabaseList, SpacesInsideANameStay)
{
    EXPECT_EQ(parse_database_list("my db, x", 64), (names{"my db", "x"}));
}

TEST(DatabaseList, EachNameOnce)
{
    EXPECT_EQ(parse_database_list("a,b,a, b", 64), (names{"a", "b"}));
}

TEST(DatabaseList, NameLengthIsBoundedLikeNamedatalen)
{
    EXPECT_EQ(parse_database_list(std::string(63, 'd'), 64), names{std::string(63, 'd')});
    EXPECT_THROW(parse_database_list("ok," + std::string(64, 'd'), 64), invalid_database_list);
}

TEST(DatabaseList, AtMostTheSupportedNumberOfDatabases)
{
    std::string list;
    for (size_t i = 0; i < max_maintenance_databases; i++)
        list += "db" + std::to_string(i) + ",";
    EXPECT_EQ(parse_database_list(list, 64).size(), max_maintenance_databases);
    EXPECT_THROW(parse_database_list(list + "one_more", 64), invalid_database_list);
}

TEST(DatabaseList, ListedNamesAreFoundAsParsed)
{
    EXPECT_TRUE(database_listed(" app , other db", "app", 64));
    EXPECT_TRUE(database_listed(" app , other db", "other db", 64));
    EXPECT_FALSE(database_listed(" app , other db", "App", 64));
    EXPECT_FALSE(database_listed(" app , other db", "other", 64));
    EXPECT_FALSE(database_listed("", "app", 64));
    // A list parse_database_list refuses names no database.
    EXPECT_FALSE(database_listed("app, " + std::string(64, 'x'), "app", 64));
}
