#include "predict/pending_fills.hpp"
#include "cache/commit_writes.hpp"
#include "cache/key.hpp"
#include "cache/levels.hpp"
#include "cache/router.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/memutils.h"
}

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace ai_scale::predict {

namespace {

// Keys per Redis round trip at commit, and the most fills one transaction keeps.
constexpr size_t fill_piece = cache::l2_keys_per_round_trip;
constexpr size_t max_pending = 100000;

struct pending {
    cache::key128 key;
    Jsonb* value; // in cxt
    uint64_t ttl_ms;
    // The settings of the call, which a function's SET clause may have set and Postgres has put
    // back by the commit: the fill follows them, not the session's (it filled the L1 and the
    // Redis a function had turned off for its calls).
    bool use_l1;    // ai_scale.cache_use_l1
    uint64_t route; // cache::write_route(): Redis is written only when it is the same at commit
    SubTransactionId subxact; // that stored it
    size_t previous;          // the fill of the same key before it, or none
};
constexpr size_t none = size_t(-1);

std::vector<pending> fills;
std::unordered_map<cache::key128, size_t, cache::key128_hash> by_key; // the latest fill of a key
// A child of TopTransactionContext, so the copies go with the transaction.
MemoryContext cxt = nullptr;
bool callbacks_registered = false;

void forget()
{
    // Not clear(): that keeps the capacity of the largest transaction for the backend's life.
    pg::note_batch(fills.size());
    std::vector<pending>().swap(fills);
    decltype(by_key)().swap(by_key);
    cxt = nullptr;
    pg::release_batch_memory();
}

// The fills by TTL and call settings, each group in the order of its fills, the groups in the
// order of their first: a transaction that mixed them (plain predict() calls and calls through a
// function with SET ai_scale.cache_use_l1 = off, or models of two TTLs) sent a round trip at each
// change, one key each when they alternated (4,000 writes, a 9.4 s commit, against 12).
std::vector<std::vector<size_t>> fill_groups()
{
    std::vector<std::vector<size_t>> groups;
    for (size_t i = 0; i < fills.size(); i++) {
        const pending& f = fills[i];
        auto same = [&](const std::vector<size_t>& g) {
            const pending& first = fills[g[0]];
            return first.ttl_ms == f.ttl_ms && first.use_l1 == f.use_l1 && first.route == f.route;
        };
        auto group = std::find_if(groups.begin(), groups.end(), same);
        if (group == groups.end())
            groups.push_back({i});
        else
            group->push_back(i);
    }
    return groups;
}

// The fills of each group in pieces of at most fill_piece keys, each piece's Redis writes in one
// round trip (one redis_timeout_ms: a transaction's whole list in one pipeline would outlast
// it). A group whose calls named another Redis than the settings at commit do (or none) goes
// to L1 alone. After a round trip of the commit's fails (a piece's, or the invalidations'
// made again: cache/commit_writes.hpp), the other pieces go to L1 alone, without asking Redis
// again: asked at each piece, a Redis that no longer answered cost the commit a timeout a
// piece until the breaker opened (ai_scale.breaker_failures of them). After an error (a
// cache_strict one, a cancel) the rest are not filled. Never throws: it runs after the commit,
// and the rows are stored anyway (a later miss finds them in L3).
void fill_all_caught(pg::first_failure* failure)
{
    try {
        const uint64_t route_now = cache::write_route();
        for (const std::vector<size_t>& group : fill_groups()) {
            const pending& first = fills[group[0]];
            for (size_t start = 0; start < group.size(); start += fill_piece) {
                std::vector<cache::key128> keys;
                std::vector<const Jsonb*> values;
                for (size_t i = start; i < group.size() && i < start + fill_piece; i++) {
                    keys.push_back(fills[group[i]].key);
                    values.push_back(fills[group[i]].value);
                }
                const bool asked =
                    cache::ask_redis_at_commit() && first.route != 0 && first.route == route_now;
                const bool taken =
                    cache::fill_l1_l2(keys, values, first.ttl_ms, asked, first.use_l1);
                if (asked && !taken)
                    cache::redis_unanswered_at_commit();
            }
        }
    } catch (const std::exception& e) {
        failure->note(e.what());
        cache::redis_unanswered_at_commit();
    }
}

void at_commit()
{
    pg::first_failure failure;
    try {
        pg::call([&] { fill_all_caught(&failure); });
    } catch (const std::exception& e) {
        failure.note(e.what());
    } catch (...) {
        failure.note("an unknown C++ exception");
    }
    if (failure.failed)
        ereport(WARNING,
                (errmsg("ai_scale: the predictions stored by this transaction were not "
                        "cached: %s",
                        failure.text),
                 errdetail("They are in the store; the next predict() reads them there.")));
}

void at_xact_end(XactEvent event, void*)
{
    if (event == XACT_EVENT_COMMIT && !fills.empty())
        at_commit();
    // A prepared transaction may commit in another session, or never: its predictions are
    // read from the store once it commits.
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE)
        forget();
}

// What an aborting subtransaction (or one it contained) stored is at the end of fills: a
// subtransaction's id is higher than those of every one begun before it, and while it runs
// only it and its children (higher ids still) store. So it is cut off from the end, at a cost
// of what it stored, not of everything the transaction stored (a reindex per abort made a loop
// of failing blocks quadratic: 40,000 iterations took 39 s instead of about 6).
void at_subxact_end(SubXactEvent event, SubTransactionId subxact, SubTransactionId, void*)
{
    if (event != SUBXACT_EVENT_ABORT_SUB || fills.empty())
        return;
    size_t keep = fills.size();
    while (keep > 0 && fills[keep - 1].subxact >= subxact)
        keep--;
    // From the last one back: a key's latest fill becomes the one before it, if that stays.
    // Its copy is freed: kept to the transaction's end, a loop of blocks that store and fail
    // grew by 80 bytes a block, past the max_pending a transaction keeps. (Nothing outside the
    // aborted subtransaction holds it: what pending_output returns is answered as a copy.)
    for (size_t i = fills.size(); i-- > keep;) {
        const pending& p = fills[i];
        if (p.previous == none)
            by_key.erase(p.key);
        else if (p.previous < keep)
            by_key[p.key] = p.previous;
        pfree(p.value);
    }
    fills.resize(keep);
}

} // namespace

void fill_at_commit(const cache::key128& k, const Jsonb* v, uint64_t ttl_ms)
{
    // A transaction that stores more is not held in memory to the end: the rest is cached by
    // the next miss, which reads it from the store.
    if (fills.size() >= max_pending)
        return;
    if (!callbacks_registered) {
        pg::call([] {
            RegisterXactCallback(at_xact_end, nullptr);
            RegisterSubXactCallback(at_subxact_end, nullptr);
        });
        cache::track_commit_writes();
        callbacks_registered = true;
    }
    if (cxt == nullptr)
        cxt = pg::call([] {
            return AllocSetContextCreate(TopTransactionContext, "ai_scale pending cache fills",
                                         ALLOCSET_SMALL_SIZES);
        });
    Jsonb* copy = pg::call([&] {
        auto* c = static_cast<Jsonb*>(MemoryContextAlloc(cxt, VARSIZE(v)));
        memcpy(c, v, VARSIZE(v));
        return c;
    });
    const SubTransactionId subxact = GetCurrentSubTransactionId();
    const auto found = by_key.find(k);
    fills.push_back({k, copy, ttl_ms, guc::cache_use_l1, cache::write_route(), subxact,
                     found == by_key.end() ? none : found->second});
    by_key[k] = fills.size() - 1;
}

Jsonb* pending_output(const cache::key128& k)
{
    if (fills.empty())
        return nullptr;
    auto it = by_key.find(k);
    if (it == by_key.end())
        return nullptr;
    // Answered from the row this transaction stored: an L3 hit, without the lookup.
    stats::add(stats::counter::l3_hits);
    return fills[it->second].value;
}

} // namespace ai_scale::predict
