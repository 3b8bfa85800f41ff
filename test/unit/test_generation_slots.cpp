// Generation slots (cache/generation_slots.hpp): databases share the slot space and each slot has
// one Redis counter for the whole cluster, so two databases whose models share a slot also share
// its counter, and the shared-memory slot and Redis never count apart.
#include "cache/generation_slots.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace ai_scale::cache::generation;

namespace {

constexpr uint64_t system_id = 7234567890123456789ULL;

// A model of database a and one of database b whose generations share a slot.
std::pair<std::string, std::string> colliding_models(uint32_t a, uint32_t b)
{
    std::map<uint32_t, std::string> in_b;
    for (int i = 0; i < 20000; i++) {
        std::string name = "b" + std::to_string(i);
        in_b.emplace(model_slot(model_hash(database_seed(system_id, b), name.data(), name.size())),
                     name);
    }
    for (int i = 0; i < 20000; i++) {
        std::string name = "a" + std::to_string(i);
        auto it = in_b.find(
            model_slot(model_hash(database_seed(system_id, a), name.data(), name.size())));
        if (it != in_b.end())
            return {name, it->second};
    }
    return {};
}

} // namespace

TEST(GenerationSlots, SlotsAreInRangeAndStable)
{
    uint64_t seed = database_seed(system_id, 5);
    for (int i = 0; i < 1000; i++) {
        std::string m = "model" + std::to_string(i);
        uint64_t h = model_hash(seed, m.data(), m.size());
        EXPECT_LT(model_slot(h), n_slots);
        EXPECT_LT(version_slot(h, i), n_slots);
        EXPECT_EQ(h, model_hash(seed, m.data(), m.size()));
    }
}

// Two models share a slot by chance only, and rarely: over 1,000,000 pairs of names the model
// slots of the two agree about 15 times in 65,536 slots (at 4096, about 244). A hash that used
// a part of the slots, or too few slots, shows here.
TEST(GenerationSlots, TwoModelsRarelyShareASlot)
{
    uint64_t seed = database_seed(system_id, 16384);
    std::vector<uint32_t> slots;
    for (int i = 0; i < 2000000; i++) {
        std::string m = "m" + std::to_string(i);
        slots.push_back(model_slot(model_hash(seed, m.data(), m.size())));
    }
    int shared = 0;
    for (size_t i = 0; i + 1 < slots.size(); i += 2)
        shared += slots[i] == slots[i + 1];
    EXPECT_LT(shared, 60);
}

// The CI run that failed sql/predict_flow.sql: in its cluster the first database (OID 16384)
// had p_two's version 1 in a slot of p_lin's, so registering p_two dropped p_lin's cached
// outputs, and a read the test expected from L1 came from the store.
TEST(GenerationSlots, TheModelsOfPredictFlowKeepApartInTheClusterThatFailedIt)
{
    uint64_t seed = database_seed(7714191749199675234ULL, 16384);
    auto hash = [&](const char* m) { return model_hash(seed, m, std::strlen(m)); };
    const uint32_t lin[] = {model_slot(hash("p_lin")), version_slot(hash("p_lin"), 1)};
    for (const char* other : {"p_two", "p_inactive"})
        for (uint32_t s : lin)
            EXPECT_NE(version_slot(hash(other), 1), s) << other;
}

TEST(GenerationSlots, SeedsDifferPerDatabaseAndCluster)
{
    EXPECT_NE(database_seed(system_id, 5), database_seed(system_id, 16384));
    EXPECT_NE(database_seed(system_id, 5), database_seed(system_id + 1, 5));
}

// Databases 5 and 16384 have models sharing a slot; that slot has one Redis counter, the same
// whichever database bumps it (it was one counter per database, and a sync to the other
// database's larger value brought back a generation invalidated in this one).
TEST(GenerationSlots, CollidingModelsOfTwoDatabasesShareOneCounter)
{
    auto [a, b] = colliding_models(5, 16384);
    ASSERT_FALSE(a.empty());
    uint32_t slot = model_slot(model_hash(database_seed(system_id, 5), a.data(), a.size()));
    EXPECT_EQ(slot, model_slot(model_hash(database_seed(system_id, 16384), b.data(), b.size())));
    EXPECT_NE(redis_key(system_id, slot), redis_key(system_id + 1, slot));
    EXPECT_NE(redis_key(system_id, slot), redis_key(system_id, (slot + 1) % n_slots));
    EXPECT_EQ(redis_key(system_id, slot).rfind("ai_scale:gen:", 0), 0u);
}

// The sequence a slot goes through: Redis's INCR is used as is when it is ahead; a bump made
// while Redis was unreachable (local ran ahead) is pushed to Redis, so that a server starting
// from Redis's value never reuses a generation.
TEST(GenerationSlots, LocalAndRedisStayOneSequence)
{
    EXPECT_EQ(after_bump(0, 1, 1), 1u);
    EXPECT_EQ(after_bump(3, 7, 2), 7u);  // another server or database bumped the slot meanwhile
    EXPECT_EQ(after_bump(5, 5, 1), 6u);  // Redis behind: a bump made without it
    EXPECT_EQ(after_bump(5, 3, 9), 14u); // ... by the bump's step, as Redis's would be
    EXPECT_EQ(redis_behind_by(6, 5), 1u);
    EXPECT_EQ(redis_behind_by(6, 6), 0u);
    EXPECT_EQ(redis_behind_by(3, 9), 0u);

    // Redis down at a bump: local 4 -> 5, Redis stays at 4. At the next bump INCR gives 5,
    // local moves to 6 and Redis is raised by 1 to 6: a restart syncs to 6, not to 4 or 5.
    uint64_t local = 4, redis = 4;
    local = local + 1;
    uint64_t incr = ++redis;
    local = after_bump(local, incr, 1);
    redis += redis_behind_by(local, redis);
    EXPECT_EQ(local, 6u);
    EXPECT_EQ(redis, 6u);
}

// A sync that finds Redis's counter below the slot learned here raises it past the slot, which
// takes it: another server may have started the counter again below it and bumped it, an
// invalidation this server has not seen; back at the slot's own generation, both servers
// answered what was put under it before that invalidation.
TEST(GenerationSlots, ACounterBehindARunningServerIsRaisedPastIt)
{
    const uint64_t used = epoch_floor + 1000;
    EXPECT_EQ(raise_past(used, used, 1), 0u);
    EXPECT_EQ(raise_past(used, used + 3, 1), 0u);
    EXPECT_EQ(raise_past(used, 0, 1), used + 1); // lost
    EXPECT_EQ(raise_past(used, 0, 40), used + 40);
    // Lost, started again below by another server, and bumped there.
    const uint64_t other = epoch_floor + 2;
    EXPECT_GT(other + raise_past(used, other, 1), used);
    EXPECT_FALSE(needs_new_epoch(used, other));
    EXPECT_EQ(unsynced_bumps(used, other), 0u);
}

// Two servers at one slot that each find the counter behind it (lost once and again in
// between, so neither sees the other's raise) go past it by their own random steps: by 1, both
// reached one number, and each served what the other had put under it before its own
// invalidation.
TEST(GenerationSlots, TwoRaisesPastOneSlotGiveTwoNumbers)
{
    const uint64_t slot = epoch_floor + 500, lost = 0;
    const uint64_t first = lost + raise_past(slot, lost, bump_step(4242));
    const uint64_t second = lost + raise_past(slot, lost, bump_step(77));
    EXPECT_GT(first, slot);
    EXPECT_GT(second, slot);
    EXPECT_NE(first, second);
}

// A counter Redis lost (evicted, an AOF's last second, FLUSHALL) reads as 0, or as 1 after an
// INCR: a server that does not know better itself starts the slot again at a random point past
// both, never at a generation counted from 0 again (which found entries written before an
// invalidation).
TEST(GenerationSlots, LostCountersStartANewEpoch)
{
    EXPECT_TRUE(needs_new_epoch(0, 0));                // never counted, or lost, and restarted
    EXPECT_TRUE(needs_new_epoch(3, 1));                // INCR recreated a lost counter
    EXPECT_TRUE(needs_new_epoch(0, 7));                // counted from 0 by an earlier build
    EXPECT_FALSE(needs_new_epoch(epoch_floor + 5, 0)); // this server remembers: raise_past
    EXPECT_FALSE(needs_new_epoch(0, epoch_floor + 5)); // Redis has an epoch: take it
    for (uint64_t random : {uint64_t(0), uint64_t(12345), ~uint64_t(0)}) {
        uint64_t g = new_epoch(3, 1, random);
        EXPECT_GE(g, epoch_floor + 3);
        EXPECT_LT(g, uint64_t(1) << 49);
        EXPECT_FALSE(needs_new_epoch(g, 0));
    }
    EXPECT_NE(new_epoch(0, 0, 1), new_epoch(0, 0, 2));
}

// A server restarted while Redis was unreachable bumps its slot from 0: when Redis answers, those
// bumps go on top of Redis's counter (a slot raised to the counter instead went back to the
// generation of entries put before the invalidation).
TEST(GenerationSlots, BumpsMadeWithoutRedisSinceAStartAreAddedToIt)
{
    EXPECT_EQ(unsynced_bumps(0, epoch_floor + 9), 0u); // nothing to add: take Redis's counter
    EXPECT_EQ(unsynced_bumps(2, epoch_floor + 9), 2u);
    EXPECT_EQ(unsynced_bumps(2, 1), 0u); // no epoch in Redis: needs_new_epoch
    EXPECT_EQ(unsynced_bumps(epoch_floor + 3, epoch_floor + 9), 0u); // synced before
}

// Those bumps raise Redis's counter by at least their count, past the first by a random step:
// two servers with one such bump each, from one counter (the first's raise lost in a failover),
// reach two numbers; by their count (1) they reached one.
TEST(GenerationSlots, BumpsMadeWithoutRedisRaiseByARandomStep)
{
    EXPECT_EQ(unsynced_raise(1, bump_step(0)), 1u);
    EXPECT_EQ(unsynced_raise(3, bump_step(0)), 3u);
    EXPECT_EQ(unsynced_raise(3, bump_step(max_bump_step - 1)), 2 + max_bump_step);
    const uint64_t counter = epoch_floor + 9;
    const uint64_t first = counter + unsynced_raise(unsynced_bumps(1, counter), bump_step(12345));
    const uint64_t second = counter + unsynced_raise(unsynced_bumps(1, counter), bump_step(999));
    EXPECT_GT(first, counter);
    EXPECT_GT(second, counter);
    EXPECT_NE(first, second);
}

// A bump raises Redis's counter by a random step of 1 to max_bump_step: two servers bumping one
// counter (the first's bump lost in a Redis failover, the second's on the new primary) reach
// two numbers, and the first's recheck then moves its slot off its own (taken, or raised past).
TEST(GenerationSlots, BumpsFromOneCounterGiveTwoNumbers)
{
    EXPECT_EQ(bump_step(0), 1u);
    EXPECT_EQ(bump_step(max_bump_step - 1), max_bump_step);
    EXPECT_EQ(bump_step(max_bump_step), 1u);
    EXPECT_EQ(bump_step(~uint64_t(0)), max_bump_step);

    const uint64_t counter = epoch_floor + 77;
    const uint64_t first = after_bump(counter, counter + bump_step(12345), bump_step(12345));
    const uint64_t second = after_bump(counter, counter + bump_step(999), bump_step(999));
    ASSERT_NE(first, second);
    // The first server rechecks against the second's number: ahead of its slot, it is taken;
    // behind, the counter is raised past the slot. Either way the first server leaves its own.
    const uint64_t first_then =
        second > first ? second : second + raise_past(first, second, bump_step(5));
    EXPECT_NE(first_then, first);
    EXPECT_GE(first_then, second);
}

// A counter is what INCRBY makes, a decimal count from 0 to counter_ceiling; anything else another
// client wrote at the key reads as no counter. Read as unsigned, "-1" was 2^64 - 1, which the
// slot took, and its bumps wrapped below it: every invalidation was a no-op (TAP 267).
TEST(GenerationSlots, CountersOtherThanCountsReadAsNone)
{
    EXPECT_EQ(parse_counter("0"), 0u);
    EXPECT_EQ(parse_counter("4294967373"), epoch_floor + 77);
    // Past counter_ceiling (2^62): set by someone else, and no INCRBY could raise it far.
    EXPECT_EQ(parse_counter("4611686018427387904"), counter_ceiling);
    EXPECT_EQ(parse_counter("4611686018427387905"), 0u);
    EXPECT_EQ(parse_counter("9223372036854775000"), 0u);
    EXPECT_EQ(parse_counter("9223372036854775807"), 0u);
    EXPECT_EQ(parse_counter("9223372036854775808"), 0u);
    EXPECT_EQ(parse_counter("18446744073709551615"), 0u);
    EXPECT_EQ(parse_counter("-1"), 0u);
    EXPECT_EQ(parse_counter("not a number"), 0u);
    EXPECT_EQ(parse_counter("12abc"), 0u);
    EXPECT_EQ(parse_counter(" 12"), 0u);
    EXPECT_EQ(parse_counter(""), 0u);
}

// Two servers at one slot, each bumping a counter Redis holds below it (lost, or bumps lost in a
// failover, and lost again in between): each takes its own step past the slot, as Redis's INCRBY
// would have; local + 1 took both to one number (TAP 266).
TEST(GenerationSlots, BumpsOnACounterBehindGiveTwoNumbers)
{
    const uint64_t slot = epoch_floor + 1000;
    const uint64_t first = after_bump(slot, 0 + bump_step(12345), bump_step(12345));
    const uint64_t second = after_bump(slot, 0 + bump_step(999), bump_step(999));
    EXPECT_GT(first, slot);
    EXPECT_GT(second, slot);
    EXPECT_NE(first, second);
}

// The recheck takes at most so many slots a time, round the slots, so that every slot due is
// taken within a few rechecks, none twice before the others.
TEST(GenerationSlots, RechecksTakeSlotsRoundTheSlots)
{
    using ai_scale::cache::generation::take_round;
    uint32_t next = 7;
    EXPECT_EQ(take_round({3, 9, 40}, 3, 7, &next), (std::vector<uint32_t>{3, 9, 40}));
    EXPECT_EQ(next, 7u) << "all taken: the next recheck starts where this one did";
    EXPECT_EQ(take_round({3, 9, 40, 50}, 2, 7, &next), (std::vector<uint32_t>{9, 40}));
    EXPECT_EQ(next, 41u);
    EXPECT_EQ(take_round({3, 9, 40, 50}, 2, next, &next), (std::vector<uint32_t>{50, 3}));
    EXPECT_EQ(next, 4u) << "round the end to the first";
    EXPECT_EQ(take_round({3, 9, 40, 50}, 2, 60000, &next), (std::vector<uint32_t>{3, 9}));
    EXPECT_EQ(next, 10u);
    EXPECT_EQ(take_round({2, 65535}, 1, 65535, &next), (std::vector<uint32_t>{65535}));
    EXPECT_EQ(next, 0u) << "past the last slot is slot 0";
    // 2,500 slots due, 1,000 a recheck: three rechecks take each of them at least once.
    std::vector<uint32_t> due;
    for (uint32_t s = 0; s < 2500; s++)
        due.push_back(s * 26);
    std::vector<int> times(due.size());
    next = 0;
    for (int r = 0; r < 3; r++)
        for (uint32_t s : take_round(due, 1000, next, &next))
            times[s / 26]++;
    EXPECT_EQ(std::count(times.begin(), times.end(), 0), 0);
    EXPECT_EQ(std::count(times.begin(), times.end(), 2), 500);
}
