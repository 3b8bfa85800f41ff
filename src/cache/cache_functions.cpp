// The cache's SQL functions: cache_get / cache_get_many walk L1 -> L2 -> L3 and fill the levels
// above a hit (levels.hpp); cache_put fills L1 and L2; cache_invalidate bumps a generation;
// input_hash.
#include "cache/distinct_keys.hpp"
#include "cache/invalidation_at_commit.hpp"
#include "cache/generations.hpp"
#include "cache/key.hpp"
#include "cache/levels.hpp"
#include "cache/l1_shared.hpp"
#include "cache/l2_format.hpp"
#include "cache/l2_value.hpp"
#include "cache/l3_store.hpp"
#include "cache/router.hpp"
#include "cache/ttl.hpp"
#include "guc.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"
#include "pg/kept_heap.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <string>
#include <vector>

namespace ai_scale::cache {

namespace {

struct lookup {
    text* model;
    int32 version;
    Oid database;
};

text* read_model(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "model must not be null");
    text* model = PG_GETARG_TEXT_PP(0);
    check_model_name({VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model)});
    return model;
}

lookup read_model_args(FunctionCallInfo fcinfo)
{
    text* model = read_model(fcinfo);
    if (PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "version must not be null");
    return {model, check_model_version(PG_GETARG_INT32(1)), MyDatabaseId};
}

uint64_t ttl_ms_of(const Interval* ttl)
{
    const __int128 us = interval_micros(ttl->time, ttl->day, ttl->month);
    auto clamped = [](__int128 v) {
        return int64_t(std::clamp<__int128>(v, INT64_MIN, INT64_MAX));
    };
    if (us <= 0)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "cache ttl must be positive",
                        "The ttl given was " + std::to_string(clamped(us / 1000)) + " ms.");
    // Redis (PX) and L1 count whole milliseconds: a positive ttl under one would be 0.
    if (us < 1000)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "cache ttl must be at least 1 ms",
                        "The ttl given was " + std::to_string(int64_t(us)) + " microseconds.");
    // Checked in whole milliseconds, the fraction dropped first: '365 days 0.5 ms' was refused.
    const __int128 ms = us / 1000;
    if (ms > __int128(365) * USECS_PER_DAY / 1000)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "cache ttl must be at most 365 days",
                        "The ttl given was " + std::to_string(clamped(ms)) + " ms.");
    return uint64_t(ms);
}

} // namespace

namespace {

Jsonb* get_one(const lookup& m, Jsonb* input)
{
    const key_prefix prefix = make_key_prefix(m.database, m.model, m.version);
    key128 k = make_key(prefix, input);
    l1_lookups_begin();
    if (l1_usable())
        if (Jsonb* v = from_l1(k))
            return v;
    if (l2_enabled())
        if (Jsonb* v = from_l2({k})[0])
            return v;
    return from_l3(k, prefix.store, m.model, m.version, input);
}

} // namespace
} // namespace ai_scale::cache

using namespace ai_scale;
using namespace ai_scale::cache;

// input_hash(jsonb) -> bigint: XXH3-64 of the input's canonical binary (numbers at their least
// scale: 9 and 9.0 hash alike, canonical_input.hpp), for the store's input_hash column.
AI_SCALE_FUNCTION(ai_scale_input_hash)
{
    Jsonb* input = PG_GETARG_JSONB_P(0);
    PG_RETURN_INT64(int64(cache::input_hash(input)));
}

// _readable_store() -> regclass: the store (ai_scale.store_table), resolved as cache_get
// resolves it; null when there is none or the caller may not read it. L3 reads it unless it is
// keyed by date (l3_lookup_store).
AI_SCALE_FUNCTION(ai_scale_readable_store)
{
    const Oid store = l3_readable_store();
    if (store == InvalidOid)
        PG_RETURN_NULL();
    PG_RETURN_OID(store);
}

// _store_named(name text) -> regclass: the table a value of ai_scale.store_table names, as the
// setting is resolved (a name without a schema in public, not by search_path); null when none.
// For register_model's look at the stores the settings name (_store_last_version).
AI_SCALE_FUNCTION(ai_scale_store_named)
{
    const Oid store = store_named(text_to_cstring(PG_GETARG_TEXT_PP(0)));
    if (store == InvalidOid)
        PG_RETURN_NULL();
    PG_RETURN_OID(store);
}

// cache_get(model, version, input) -> jsonb, null on a miss at every level.
AI_SCALE_FUNCTION(ai_scale_cache_get)
{
    lookup m = read_model_args(fcinfo);
    if (PG_ARGISNULL(2))
        PG_RETURN_NULL();
    Jsonb* v = get_one(m, PG_GETARG_JSONB_P(2));
    if (v == nullptr)
        PG_RETURN_NULL();
    pg::keep_heap_for_call(VARSIZE_ANY(v));
    PG_RETURN_JSONB_P(v);
}

// cache_get_many(model, version, inputs jsonb[]) -> jsonb[]: one element per input (null on a
// miss or a null input); L2 is asked for all L1 misses in one round trip (per 1000 keys).
// Equal inputs (one cache key) are looked up once, at every level, and each copy gets that
// answer: 2000 copies of one 100 kB input read 200 MB from Redis.
AI_SCALE_FUNCTION(ai_scale_cache_get_many)
{
    lookup m = read_model_args(fcinfo);
    if (PG_ARGISNULL(2))
        PG_RETURN_NULL();
    const pg::jsonb_elements in = pg::jsonb_array_arg(fcinfo, 2);
    Datum* elems = in.elems;
    bool* nulls = in.nulls;
    const int n = in.n;
    pg::note_batch(size_t(n));

    // distinct numbers the keys in the order they first appear; which[j] is the number there of
    // the j-th element that is not null (a null element takes no room here), and inputs[d] the
    // first input with key d.
    const size_t non_null = size_t(std::count(nulls, nulls + n, false));
    distinct_keys distinct(non_null);
    std::vector<int32_t> which;
    which.reserve(non_null);
    std::vector<Jsonb*> inputs;
    inputs.reserve(non_null);
    // Not without a key to make: it syncs the generations with Redis.
    const key_prefix prefix =
        non_null > 0 ? make_key_prefix(m.database, m.model, m.version) : key_prefix{};
    // Every pass over the elements here (and in from_levels, from_l2, fill_l1_l2 and
    // predict_batch) looks for a cancel at each element (a load and a branch): none of them
    // waits, and a batch of 800,000 answered from L1 took seconds to notice one.
    for (int i = 0; i < n; i++) {
        pg::check_for_interrupts();
        if (nulls[i])
            continue;
        Jsonb* input = pg::call([&] { return DatumGetJsonbP(elems[i]); });
        which.push_back(int32_t(distinct.add(make_key(prefix, input))));
        if (size_t(which.back()) == inputs.size())
            inputs.push_back(input);
        else if (Pointer(input) != DatumGetPointer(elems[i]))
            pg::call([&] { pfree(input); }); // a copy DatumGetJsonbP made of a short datum
    }
    distinct.release_table();
    std::vector<Jsonb*> results(distinct.size(), nullptr);
    std::vector<const char*> levels(distinct.size(), nullptr);
    from_levels(distinct.keys(), prefix.store, inputs, m.model, m.version, results, levels);

    // The answers are written over the elements and their nulls (deconstruct_array's, read no
    // more), not into copies of them. With both, 30 million null elements peaked at 669 MB, now
    // 288 MB: what deconstruct_array takes.
    size_t answered_bytes = 0;
    for (int i = 0, j = 0; i < n; i++) {
        if (nulls[i])
            continue;
        Jsonb* v = results[size_t(which[size_t(j++)])];
        nulls[i] = v == nullptr;
        elems[i] = v ? JsonbPGetDatum(v) : Datum(0);
        if (v)
            answered_bytes += VARSIZE_ANY(v);
    }
    pg::note_batch(size_t(n), answered_bytes);
    // result[i] answers inputs[i], whatever the inputs' first subscript (as array_replace
    // keeps it): '[5:6]={...}' came back as [1:2].
    int dims[1] = {n};
    int lbs[1] = {in.lower};
    ArrayType* result = nullptr;
    pg::call([&] {
        result = construct_md_array(elems, nulls, n == 0 ? 0 : 1, dims, lbs, JSONBOID, -1, false,
                                    TYPALIGN_INT);
    });
    pg::keep_heap_for_call(VARSIZE(result), size_t(n));
    PG_RETURN_ARRAYTYPE_P(result);
}

// cache_put(model, version, input, output, ttl interval DEFAULT NULL): stores output in L1 (when
// it fits) and in Redis (when configured) for ttl, or ai_scale.cache_ttl.
AI_SCALE_FUNCTION(ai_scale_cache_put)
{
    lookup m = read_model_args(fcinfo);
    if (PG_ARGISNULL(2))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "input must not be null");
    if (PG_ARGISNULL(3))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "output must not be null",
                        "The cache stores predictions; a null output cannot be told from a miss.");
    Jsonb* input = PG_GETARG_JSONB_P(2);
    Jsonb* output = PG_GETARG_JSONB_P(3);
    if (!fits_in_redis(output))
        throw pg::error(
            ERRCODE_PROGRAM_LIMIT_EXCEEDED, "output is too large to cache",
            "The output is " + std::to_string(VARSIZE_ANY(output)) + " bytes; the limit is " +
                std::to_string(redis_value_limit()) + " (ai_scale.redis_max_value_bytes).",
            redis_value_limit() < max_output_bytes
                ? "ai_scale.redis_max_value_bytes may be raised to 64MB, with "
                  "ai_scale.redis_timeout_ms raised to cover reading a value that large."
                : "");
    uint64_t ttl_ms =
        PG_ARGISNULL(4) ? uint64_t(guc::cache_ttl_s) * 1000 : ttl_ms_of(PG_GETARG_INTERVAL_P(4));
    fill_l1_l2(make_key(m.database, m.model, m.version, input), output, ttl_ms);
    PG_RETURN_VOID();
}

// cache_invalidate(model, version DEFAULT NULL): every cached output of one version of the model
// (with a null version, of every version) becomes unreachable at once, in this server's L1 and
// in Redis; and again when a transaction that writes commits (invalidation_at_commit.hpp).
AI_SCALE_FUNCTION(ai_scale_cache_invalidate)
{
    text* model = read_model(fcinfo);
    int32 version = 0;
    if (!PG_ARGISNULL(1))
        version = check_model_version(PG_GETARG_INT32(1));
    const uint32_t slot =
        generation_slot(MyDatabaseId, model, PG_ARGISNULL(1) ? nullptr : &version);
    bump_slot(slot);
    bump_again_at_commit(slot);
    PG_RETURN_VOID();
}
