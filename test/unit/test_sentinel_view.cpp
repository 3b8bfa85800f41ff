#include "cache/sentinel_view.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::sentinel_fields;
using ai_scale::cache::sentinel_primary;
using ai_scale::cache::sentinel_usable_replica;

namespace {
// An entry of SENTINEL replicas as Redis 7 gives it, trimmed to the fields read plus a few.
sentinel_fields replica(const std::string& flags, const std::string& link = "ok")
{
    return {{"name", "127.0.0.1:6380"},
            {"ip", "127.0.0.1"},
            {"port", "6380"},
            {"runid", "5e1b"},
            {"flags", flags},
            {"link-pending-commands", "0"},
            {"master-link-status", link},
            {"master-host", "127.0.0.1"},
            {"slave-repl-offset", "123456"}};
}
} // namespace

TEST(SentinelView, ReadsThePrimarysAddress)
{
    EXPECT_EQ(sentinel_primary({"10.0.0.5", "6379"}), "10.0.0.5:6379");
    EXPECT_EQ(sentinel_primary({"::1", "6379"}), "[::1]:6379");
    EXPECT_EQ(sentinel_primary({}), std::nullopt); // a master name the sentinel does not know
    EXPECT_EQ(sentinel_primary({"10.0.0.5"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"10.0.0.5", "0"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"10.0.0.5", "65536"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"10.0.0.5", "63a9"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"", "6379"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"a,b", "6379"}), std::nullopt); // would split our lists
    EXPECT_EQ(sentinel_primary({"a b", "6379"}), std::nullopt);
    // Shown as text in databases of any encoding: printable ASCII only.
    EXPECT_EQ(sentinel_primary({"h\xc3\xb4te_\xe6\x97\xa5", "6379"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"h\xf4te", "6379"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"a\tb", "6379"}), std::nullopt);
    // An address with a '/' would read as a socket path ("/tmp/x:6379"): no sentinel names one.
    EXPECT_EQ(sentinel_primary({"/tmp/x", "6379"}), std::nullopt);
    EXPECT_EQ(sentinel_primary({"redis-1.example.com", "6379"}), "redis-1.example.com:6379");
}

TEST(SentinelView, TakesAReplicaThatIsUpAndLinked)
{
    EXPECT_EQ(sentinel_usable_replica(replica("slave")), "127.0.0.1:6380");
    EXPECT_EQ(sentinel_usable_replica(replica("slave,s_down")), std::nullopt);
    EXPECT_EQ(sentinel_usable_replica(replica("s_down,slave")), std::nullopt);
    EXPECT_EQ(sentinel_usable_replica(replica("slave,o_down")), std::nullopt);
    EXPECT_EQ(sentinel_usable_replica(replica("slave,disconnected")), std::nullopt);
    EXPECT_EQ(sentinel_usable_replica(replica("slave", "err")), std::nullopt);
    // A flag that only contains a bad one's name is not it.
    EXPECT_EQ(sentinel_usable_replica(replica("slave,s_down_x")), "127.0.0.1:6380");
}

TEST(SentinelView, RefusesAnEntryWithoutAnAddress)
{
    EXPECT_EQ(sentinel_usable_replica({{"flags", "slave"}, {"master-link-status", "ok"}}),
              std::nullopt);
    EXPECT_EQ(
        sentinel_usable_replica(
            {{"ip", "127.0.0.1"}, {"port", "x"}, {"flags", "slave"}, {"master-link-status", "ok"}}),
        std::nullopt);
    EXPECT_EQ(sentinel_usable_replica({}), std::nullopt);
    EXPECT_EQ(sentinel_usable_replica({{"ip", "h\xc3\xb4te"},
                                       {"port", "6380"},
                                       {"flags", "slave"},
                                       {"master-link-status", "ok"}}),
              std::nullopt);
}
