#include "cache/replica_check.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::judge_replica;
using ai_scale::cache::redis_info_field;
using ai_scale::cache::replica_verdict;

namespace {
// INFO replication as Redis 7 prints it (CRLF line ends), trimmed to the fields read.
std::string primary(const std::string& replid, const std::string& replid2, long long offset)
{
    return "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
           "slave0:ip=127.0.0.1,port=6380,state=online,offset=1,lag=0\r\n"
           "master_replid:" +
           replid + "\r\nmaster_replid2:" + replid2 +
           "\r\nmaster_repl_offset:" + std::to_string(offset) + "\r\n";
}
std::string replica(const std::string& link, const std::string& sync, const std::string& replid,
                    long long offset)
{
    return "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n"
           "master_link_status:" +
           link + "\r\nmaster_sync_in_progress:" + sync +
           "\r\nslave_repl_offset:" + std::to_string(offset) + "\r\nmaster_replid:" + replid +
           "\r\nmaster_replid2:0000\r\nmaster_repl_offset:" + std::to_string(offset) + "\r\n";
}
const std::string ours = "8b4c0f6e2a";
const std::string older = "77aa11";
constexpr int64_t mb = 1024 * 1024;
} // namespace

TEST(RedisInfo, ReadsAFieldAtTheStartOfALineOnly)
{
    std::string info = "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n"
                       "x_master_link_status:down\r\nlast:7";
    EXPECT_EQ(redis_info_field(info, "role"), "slave");
    EXPECT_EQ(redis_info_field(info, "master_link_status"), "up");
    EXPECT_EQ(redis_info_field(info, "last"), "7"); // no line end after it
    EXPECT_EQ(redis_info_field(info, "missing"), "");
    EXPECT_EQ(redis_info_field(info, "link_status"), ""); // a suffix of a field is not it
}

TEST(ReplicaCheck, InSyncWhenCaughtUpOrWithinTheLimit)
{
    auto p = primary(ours, "0000", 5 * mb);
    auto caught_up = judge_replica(replica("up", "0", ours, 5 * mb), p, mb);
    EXPECT_EQ(caught_up.verdict, replica_verdict::in_sync);
    EXPECT_EQ(caught_up.lag_bytes, 0);
    auto behind = judge_replica(replica("up", "0", ours, 4 * mb), p, mb);
    EXPECT_EQ(behind.verdict, replica_verdict::in_sync); // exactly the limit
    EXPECT_EQ(behind.lag_bytes, mb);
    // Asked after the primary, a replica may already be past the offset the primary gave.
    auto ahead = judge_replica(replica("up", "0", ours, 5 * mb + 10), p, 0);
    EXPECT_EQ(ahead.verdict, replica_verdict::in_sync);
    EXPECT_EQ(ahead.lag_bytes, 0);
}

TEST(ReplicaCheck, LaggingBeyondTheLimit)
{
    auto state =
        judge_replica(replica("up", "0", ours, 4 * mb - 1), primary(ours, "0000", 5 * mb), mb);
    EXPECT_EQ(state.verdict, replica_verdict::lagging);
    EXPECT_EQ(state.lag_bytes, mb + 1);
}

TEST(ReplicaCheck, LinkDownAndFullResyncComeFirst)
{
    auto p = primary(ours, "0000", 10);
    EXPECT_EQ(judge_replica(replica("down", "0", ours, 10), p, mb).verdict,
              replica_verdict::link_down);
    EXPECT_EQ(judge_replica(replica("up", "1", ours, 10), p, mb).verdict, replica_verdict::loading);
    // Without the primary's view, or with the check off, only these two count.
    EXPECT_EQ(judge_replica(replica("down", "0", ours, 10), std::nullopt, mb).verdict,
              replica_verdict::link_down);
    EXPECT_EQ(judge_replica(replica("up", "0", "other", 0), std::nullopt, mb).verdict,
              replica_verdict::in_sync);
    EXPECT_EQ(judge_replica(replica("up", "0", "other", 0), p, -1).verdict,
              replica_verdict::in_sync);
}

TEST(ReplicaCheck, ReplicaOfAnotherPrimary)
{
    // A replica of some other server: its offsets mean nothing against ours.
    auto state = judge_replica(replica("up", "0", "f00d", 10), primary(ours, older, 10), mb);
    EXPECT_EQ(state.verdict, replica_verdict::other_primary);
    EXPECT_FALSE(state.lag_bytes.has_value());
    // Right after a failover the new primary has a new ID and keeps the old one as replid2; a
    // replica still on the old history is the same data.
    EXPECT_EQ(judge_replica(replica("up", "0", older, 10), primary(ours, older, 10), mb).verdict,
              replica_verdict::in_sync);
}

TEST(ReplicaCheck, UnreadableFieldsDoNotCondemnAReplica)
{
    auto p = primary(ours, "0000", 10);
    // A server that reports no replication IDs, or offsets that are not numbers.
    EXPECT_EQ(judge_replica("role:slave\r\nmaster_link_status:up\r\n", p, mb).verdict,
              replica_verdict::in_sync);
    std::string garbled = "role:slave\r\nmaster_link_status:up\r\nmaster_replid:" + ours +
                          "\r\nmaster_repl_offset:12x\r\n";
    EXPECT_EQ(judge_replica(garbled, p, mb).verdict, replica_verdict::in_sync);
    // Nor is a number with something after it read as that number: "1x" read as 1 would judge
    // this replica 10 MB behind.
    std::string trailing = "role:slave\r\nmaster_link_status:up\r\nmaster_replid:" + ours +
                           "\r\nmaster_repl_offset:1x\r\n";
    auto p_far = primary(ours, "0000", 10 * mb);
    EXPECT_EQ(judge_replica(trailing, p_far, mb).verdict, replica_verdict::in_sync);
    EXPECT_FALSE(judge_replica(trailing, p_far, mb).lag_bytes.has_value());
    // An offset past int64 (strtoll's ERANGE) is unreadable too, not the largest one.
    std::string past = "# Replication\r\nrole:master\r\nmaster_replid:" + ours +
                       "\r\nmaster_replid2:0000\r\nmaster_repl_offset:99999999999999999999\r\n";
    EXPECT_EQ(judge_replica(replica("up", "0", ours, 10), past, mb).verdict,
              replica_verdict::in_sync);
    EXPECT_FALSE(judge_replica(replica("up", "0", ours, 10), past, mb).lag_bytes.has_value());
    // A primary that reports no replication ID says nothing of which history a replica follows.
    EXPECT_EQ(
        judge_replica(replica("up", "0", ours, 10), std::string("role:master\r\n"), mb).verdict,
        replica_verdict::in_sync);
    // Offsets are never negative; one that is would make the lag overflow.
    std::string negative = "role:slave\r\nmaster_link_status:up\r\nmaster_replid:" + ours +
                           "\r\nmaster_repl_offset:-9223372036854775807\r\n";
    auto far = primary(ours, "0000", 9223372036854775807LL);
    EXPECT_EQ(judge_replica(negative, far, mb).verdict, replica_verdict::in_sync);
    EXPECT_FALSE(judge_replica(negative, far, mb).lag_bytes.has_value());
}

TEST(ReplicaCheck, APrimaryListedAsReplicaIsReadOnlyWhenItIsThePrimary)
{
    // A replica promoted (REPLICAOF NO ONE, or a failover the configuration missed) keeps its
    // old history as master_replid2 and starts a new one; it has no master_link_status.
    const std::string promoted = primary("c0ffee", ours, 10);
    // Without the primary's INFO (refused, unreachable, or not asked: max lag -1) it was judged
    // in sync, and its writes, not the primary's, were read.
    EXPECT_EQ(judge_replica(promoted, std::nullopt, mb).verdict, replica_verdict::not_replica);
    EXPECT_EQ(judge_replica(promoted, std::nullopt, -1).verdict, replica_verdict::not_replica);
    EXPECT_EQ(judge_replica(promoted, primary(ours, older, 10), mb).verdict,
              replica_verdict::not_replica);
    EXPECT_EQ(judge_replica(promoted, primary(ours, older, 10), -1).verdict,
              replica_verdict::not_replica);
    // The primary itself under another name (its replication ID): in sync, and no lag is
    // told (as with the lag checks off, -1).
    auto itself = judge_replica(primary(ours, older, 10), primary(ours, older, 12), mb);
    EXPECT_EQ(itself.verdict, replica_verdict::in_sync);
    EXPECT_FALSE(itself.lag_bytes.has_value());
    EXPECT_EQ(judge_replica(primary(ours, older, 10), primary(ours, older, 12), -1).verdict,
              replica_verdict::in_sync);
    // Two masters that tell no replication ID are not the same server for all that: an
    // unrelated master, whose writes are its own.
    EXPECT_EQ(judge_replica("role:master\r\n", std::string("role:master\r\n"), mb).verdict,
              replica_verdict::not_replica);
}
