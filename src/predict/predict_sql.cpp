// predict() and predict_batch(): the whole flow in one call. The cache levels are walked in
// order (L1, Redis, the store as L3), a miss is scored (on the GPU when the batch is large
// enough), and the new prediction fills the caches and, on a primary, the store.
#include "cache/distinct_keys.hpp"
#include "cache/generations.hpp"
#include "cache/key.hpp"
#include "cache/levels.hpp"
#include "cache/l1_shared.hpp"
#include "cache/router.hpp"
#include "guc.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"
#include "pg/kept_heap.hpp"
#include "predict/pending_fills.hpp"
#include "predict/store.hpp"
#include "scoring/catalog.hpp"
#include "scoring/score_sql.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
}

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace ai_scale;
using scoring::loaded_model;

namespace {

scoring::model_ptr model_arg(FunctionCallInfo fcinfo)
{
    return scoring::resolve(fcinfo, scoring::version_arg(fcinfo, 2));
}

// The catalog row of the model argument's version: the version its answers are cached under.
// Read alone, without compiling the model, which only an input no cache level has needs: past
// ai_scale.model_cache_size, a predict() answered from the cache compiled its model to learn
// the version number (29 ms a call for a 200-tree gbdt, against 7 µs for the answer).
scoring::row_ptr row_arg(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "model must not be null");
    return scoring::resolve_row(fcinfo, scoring::version_arg(fcinfo, 2));
}

void append_number(std::string& s, float v)
{
    if (!std::isfinite(v)) {
        s += "null";
        return;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", double(v));
    s += buf;
}

// An empty context to build one output or answer in. jsonb_in and JsonbToCString leave their
// parser state and text buffers behind (several kB a call): left in the caller's context, a
// predict_batch kept them for every element until it returned, 9 to 13 kB an element (1.8 GB
// of backend memory for 200,000 inputs). Only the finished jsonb is copied out.
MemoryContext scratch_context()
{
    static MemoryContext cxt = nullptr;
    if (cxt == nullptr)
        cxt = AllocSetContextCreate(TopMemoryContext, "ai_scale predict answer",
                                    ALLOCSET_DEFAULT_SIZES);
    MemoryContextReset(cxt);
    return cxt;
}

// Copies built (in the scratch context) to caller, makes caller current again and empties the
// scratch context (an answer of a 64 MB output is not kept for the backend's life).
Jsonb* keep(const Jsonb* built, MemoryContext caller)
{
    MemoryContextSwitchTo(caller);
    auto* copy = static_cast<Jsonb*>(palloc(VARSIZE(built)));
    memcpy(copy, built, VARSIZE(built));
    MemoryContextReset(scratch_context());
    return copy;
}

// What is cached and stored for a scored input: {"score": x}, or {"scores": [...]}.
Jsonb* output_of(const loaded_model& m, const float* out)
{
    std::string s;
    if (m.model.n_outputs == 1) {
        s = "{\"score\": ";
        append_number(s, out[0]);
    } else {
        s = "{\"scores\": [";
        for (int32_t i = 0; i < m.model.n_outputs; i++) {
            if (i > 0)
                s += ", ";
            append_number(s, out[i]);
        }
        s += ']';
    }
    s += '}';
    Jsonb* result = nullptr;
    pg::call([&] {
        MemoryContext caller = MemoryContextSwitchTo(scratch_context());
        Jsonb* built = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.c_str())));
        result = keep(built, caller);
    });
    return result;
}

void push_pair(JsonbParseState** state, const char* key, JsonbValue* value)
{
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = const_cast<char*>(key);
    k.val.string.len = int(strlen(key));
    pushJsonbValue(state, WJB_KEY, &k);
    pushJsonbValue(state, WJB_VALUE, value);
}

void push_string_pair(JsonbParseState** state, const char* key, const char* value, size_t len)
{
    JsonbValue v;
    v.type = jbvString;
    v.val.string.val = const_cast<char*>(value);
    v.val.string.len = int(len);
    push_pair(state, key, &v);
}

// Orders two jsonb object keys as a jsonb object stores them: shorter first, then bytewise.
int key_order(const JsonbValue& a, const JsonbValue& b)
{
    if (a.val.string.len != b.val.string.len)
        return a.val.string.len < b.val.string.len ? -1 : 1;
    return memcmp(a.val.string.val, b.val.string.val, size_t(a.val.string.len));
}

// The answer of an output object whose values are all scalars (as {"score": x} is), its pairs
// merged in key order with ours ("model", "source", "version", in that order), ours winning a
// key both have, and converted once: the same jsonb answer() builds through pushJsonbValue,
// without a push per token and the sort of the pairs at the end (2,000 instructions of an L1
// hit's 42,000). nullptr when some value is nested. Runs under pg::call, in the scratch context.
Jsonb* flat_answer(const Jsonb* output, const JsonbValue (&ours)[3])
{
    const uint32 n = JB_ROOT_COUNT(output);
    auto* pairs = static_cast<JsonbPair*>(palloc(sizeof(JsonbPair) * (n + 3)));
    JsonbIterator* it = JsonbIteratorInit(const_cast<JsonbContainer*>(&output->root));
    JsonbValue v;
    JsonbIteratorToken tok;
    uint32 got = 0;
    while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (tok == WJB_KEY) {
            pairs[got].key = v;
        } else if (tok == WJB_VALUE) {
            if (v.type == jbvBinary)
                return nullptr;
            pairs[got++].value = v;
        }
    }
    // The output's pairs are in key order, and so are ours: one merge.
    static const char* const our_keys[3] = {"model", "source", "version"};
    JsonbValue keys[3];
    for (int k = 0; k < 3; k++) {
        keys[k].type = jbvString;
        keys[k].val.string.val = const_cast<char*>(our_keys[k]);
        keys[k].val.string.len = int(strlen(our_keys[k]));
    }
    auto* merged = static_cast<JsonbPair*>(palloc(sizeof(JsonbPair) * (got + 3)));
    uint32 m = 0, i = 0, j = 0;
    while (i < got || j < 3) {
        const int c = i == got ? 1 : j == 3 ? -1 : key_order(pairs[i].key, keys[j]);
        if (c < 0) {
            merged[m++] = pairs[i++];
            continue;
        }
        if (c == 0)
            i++; // ours wins
        merged[m].key = keys[j];
        merged[m++].value = ours[j++];
    }
    JsonbValue obj;
    obj.type = jbvObject;
    obj.val.object.nPairs = int(m);
    obj.val.object.pairs = merged;
    return JsonbValueToJsonb(&obj);
}

// The output with the model, version and source added: {"score": …, "model": …, …}. Built from
// the output's binary, without writing it out as text and parsing it again (that took half of
// an L1 hit's time inside the server: 1.12 against 0.59 µs a call). As in jsonb_in, the last of
// equal keys wins: an output's own "model", "version" or "source" gives way to ours.
Jsonb* answer(const text* model, int32_t version, const Jsonb* output, const char* source)
{
    Jsonb* result = nullptr;
    pg::call([&] {
        MemoryContext caller = MemoryContextSwitchTo(scratch_context());
        auto* root = const_cast<JsonbContainer*>(&output->root);
        if (JB_ROOT_IS_OBJECT(output)) {
            JsonbValue ours[3];
            ours[0].type = jbvString;
            ours[0].val.string.val = const_cast<char*>(VARDATA_ANY(model));
            ours[0].val.string.len = int(VARSIZE_ANY_EXHDR(model));
            ours[1].type = jbvString;
            ours[1].val.string.val = const_cast<char*>(source);
            ours[1].val.string.len = int(strlen(source));
            ours[2].type = jbvNumeric;
            ours[2].val.numeric = int64_to_numeric(version);
            if (Jsonb* flat = flat_answer(output, ours)) {
                result = keep(flat, caller);
                return;
            }
        }
        JsonbParseState* state = nullptr;
        JsonbValue v;
        pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
        if (JB_ROOT_IS_OBJECT(output)) {
            JsonbIterator* it = JsonbIteratorInit(root);
            JsonbIteratorToken tok;
            // Nested values come whole (skipNested) and pushJsonbValue copies them in.
            while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
                if (tok == WJB_KEY || tok == WJB_VALUE)
                    pushJsonbValue(&state, tok, &v);
        } else {
            // Something cache_put stored under the same key that is not an object.
            if (JB_ROOT_IS_SCALAR(output)) {
                JsonbExtractScalar(root, &v);
            } else {
                v.type = jbvBinary;
                v.val.binary.data = root;
                v.val.binary.len = int(VARSIZE(output) - VARHDRSZ);
            }
            push_pair(&state, "output", &v);
        }
        push_string_pair(&state, "model", VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model));
        v.type = jbvNumeric;
        v.val.numeric = int64_to_numeric(version);
        push_pair(&state, "version", &v);
        push_string_pair(&state, "source", source, strlen(source));
        JsonbValue* built = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
        result = keep(JsonbValueToJsonb(built), caller);
    });
    return result;
}

uint64_t ttl_ms()
{
    return uint64_t(guc::cache_ttl_s) * 1000;
}

// A hot standby learns of a version from the WAL, and of the cache generation its registration
// bumped (before committing) from Redis, where it looks at most once a second per slot. A number
// given again (a registration rolled back, a pg_restore --clean, the extension created again)
// was keyed there with the generation synced before the bump, and answered for up to a second
// with what had been cached under that number. So a model a backend has just compiled (after
// the catalog change's invalidation) has its slots synced at its first predict(), as has a
// version whose row the backend has read.
void sync_new_version(const scoring::catalog_row& m, const text* model)
{
    if (m.generations_synced)
        return;
    if (RecoveryInProgress())
        cache::sync_version_generations(MyDatabaseId, model, m.version);
    m.generations_synced = true;
}

// The answer to the input under key k (of keyed_store: key_prefix::store) from the first cache
// level that has it (the outputs this transaction stored, L1, Redis, the store), as an answer
// of version; nullptr when none has it.
Jsonb* cached_answer(const cache::key128& k, Oid keyed_store, text* model, int32_t version,
                     Jsonb* input)
{
    Jsonb* out = nullptr;
    if ((out = predict::pending_output(k)) != nullptr)
        return answer(model, version, out, "l3");
    // Afresh for each lookup, as cache_get's: left from the session's earlier calls, a stripe's
    // first miss was an old one, and the fill from Redis below was refused whenever the stripe
    // had changed since (l1_shared.cpp), nearly always in a long session.
    cache::l1_lookups_begin();
    if (cache::l1_usable() && (out = cache::from_l1(k)) != nullptr)
        return answer(model, version, out, "l1");
    if (cache::l2_enabled() && (out = cache::from_l2({k})[0]) != nullptr)
        return answer(model, version, out, "l2");
    if ((out = cache::from_l3(k, keyed_store, model, version, input)) != nullptr)
        return answer(model, version, out, "l3");
    return nullptr;
}

// Whether an answer that was not stored may be cached now. Not when the model's row was
// written by this transaction, which may yet roll back: its answers, cached for every role, would
// outlive it, and a role allowed to UPDATE ai_scale.models but not to cache_put could put any
// answer in the cache with an UPDATE, a predict() with store_mode = off and a ROLLBACK. (Stored,
// they are cached at commit.)
bool fill_now(const loaded_model& m)
{
    return !m.written_by_this_transaction();
}

} // namespace

// predict(model text, input jsonb, version int DEFAULT NULL) -> jsonb
AI_SCALE_FUNCTION(ai_scale_predict)
{
    scoring::row_ptr row = row_arg(fcinfo);
    if (PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "input must not be null",
                        "predict() scores a json object; a null input has no prediction.");
    // Under pg::call (pg/args.hpp): detoasting may fail (out of memory), and a Postgres error
    // jumping past row kept it alive for the backend's life.
    text* model = pg::text_arg(fcinfo, 0);
    Jsonb* input = pg::jsonb_arg(fcinfo, 1);
    sync_new_version(*row, model);
    cache::key_prefix prefix = cache::make_key_prefix(MyDatabaseId, model, row->version);
    cache::key128 k = cache::make_key(prefix, input);
    if (Jsonb* found = cached_answer(k, prefix.store, model, row->version, input))
        PG_RETURN_JSONB_P(found);

    // Held to the end: the store's INSERT may fire triggers that change the catalog.
    const scoring::model_ptr model_ref = model_arg(fcinfo);
    const loaded_model& m = *model_ref;
    // Read with the same snapshot, the model is of the same row; were it not, its answer may
    // be cached under its own version.
    if (m.version != row->version) {
        row = model_ref;
        sync_new_version(*row, model);
        prefix = cache::make_key_prefix(MyDatabaseId, model, row->version);
        k = cache::make_key(prefix, input);
        if (Jsonb* found = cached_answer(k, prefix.store, model, row->version, input))
            PG_RETURN_JSONB_P(found);
    }

    std::vector<float> buf(m.model.features.size() + size_t(m.model.n_outputs));
    float* row_features = buf.data();
    float* scores = row_features + m.model.features.size();
    scoring::extract_row(m, PointerGetDatum(input), row_features, {"the input", std::nullopt});
    bool gpu = scoring::score_batch_rows(m, row_features, 1, scores);
    Jsonb* out = output_of(m, scores);
    // Stored first: when the insert fails, nothing is cached either; an insert in this
    // transaction is cached when it commits. Not stored, the answer of a model row this
    // transaction wrote is not cached (fill_now).
    if (predict::store(model, m.version, {{input, out, int64(cache::input_hash(input))}},
                       m.written_by_this_transaction(), m.row_table))
        predict::fill_at_commit(k, out, ttl_ms());
    else if (fill_now(m))
        cache::fill_l1_l2(k, out, ttl_ms());
    PG_RETURN_JSONB_P(answer(model, m.version, out, gpu ? "gpu" : "cpu"));
}

namespace {

// What predict_batch knows of each non-null element, in the inputs' order (the i-th of them
// here): its subscript's offset in the inputs, its input and key, and once found or scored its
// output and where that came from. Null elements have no entry: with one each (44 bytes), an
// array of 4 million nulls (a 500 kB input) raised the backend's peak by 244 MB.
struct batch_elements {
    std::vector<int> element;
    std::vector<Jsonb*> inputs, outputs;
    std::vector<const char*> sources;
    // Equal inputs (one cache key) are looked up, scored and stored once: which[i] is the
    // number of i's key among the distinct keys, and unique[d] the first entry with key d.
    cache::distinct_keys distinct;
    std::vector<uint32_t> which;
    std::vector<int> unique;
    Oid keyed_store = InvalidOid; // key_prefix::store of the keys

    explicit batch_elements(size_t n) : distinct(n)
    {
        element.reserve(n);
        inputs.reserve(n);
        which.reserve(n);
        outputs.assign(n, nullptr);
        sources.assign(n, nullptr);
    }

    const cache::key128& key(int i) const { return distinct.keys()[which[size_t(i)]]; }
    int first_copy(int i) const { return unique[which[size_t(i)]]; }
};

// The number of non-null elements.
size_t non_null(const pg::jsonb_elements& in)
{
    return size_t(std::count(in.nulls, in.nulls + in.n, false));
}

// Reads each non-null element and its cache key, and finds the first of equal elements.
void key_elements(int32_t version, text* model, const pg::jsonb_elements& in, batch_elements& b)
{
    // Not without a key to make: it syncs the generations with Redis.
    const cache::key_prefix prefix = non_null(in) > 0
                                         ? cache::make_key_prefix(MyDatabaseId, model, version)
                                         : cache::key_prefix{};
    b.keyed_store = prefix.store;
    for (int e = 0; e < in.n; e++) {
        pg::check_for_interrupts();
        if (in.nulls[e])
            continue;
        const int i = int(b.element.size());
        b.element.push_back(e);
        b.inputs.push_back(pg::call([&] { return DatumGetJsonbP(in.elems[e]); }));
        b.which.push_back(b.distinct.add(cache::make_key(prefix, b.inputs[i])));
        if (b.which[size_t(i)] == b.unique.size())
            b.unique.push_back(i);
    }
    b.distinct.release_table();
}

// Looks each unique element up among the outputs this transaction stored, then in the cache
// levels; returns the elements none of them had.
std::vector<int> look_up(int32_t version, text* model, batch_elements& b)
{
    std::vector<cache::key128> unique_keys;
    std::vector<Jsonb*> unique_inputs;
    std::vector<int> looked_up; // the unique elements this transaction has not stored yet
    for (int i : b.unique) {
        if ((b.outputs[i] = predict::pending_output(b.key(i))) != nullptr) {
            b.sources[i] = "l3";
            continue;
        }
        looked_up.push_back(i);
        unique_keys.push_back(b.key(i));
        unique_inputs.push_back(b.inputs[i]);
    }
    std::vector<Jsonb*> unique_outputs(looked_up.size(), nullptr);
    std::vector<const char*> unique_sources(looked_up.size(), nullptr);
    std::vector<int> to_score = cache::from_levels(unique_keys, b.keyed_store, unique_inputs, model,
                                                   version, unique_outputs, unique_sources);
    for (size_t u = 0; u < looked_up.size(); u++) {
        b.outputs[looked_up[u]] = unique_outputs[u];
        b.sources[looked_up[u]] = unique_sources[u];
    }
    for (int& j : to_score)
        j = looked_up[j];
    return to_score;
}

// Scores the elements to_score in one batch and sets their outputs; returns them as the new
// predictions to store.
std::vector<predict::new_prediction> score_elements(const loaded_model& m,
                                                    const std::vector<int>& to_score, int lower,
                                                    batch_elements& b)
{
    const size_t width = m.model.features.size();
    const size_t n_out = size_t(m.model.n_outputs);
    scoring::require_batch_fits(m, int64_t(to_score.size()));
    std::vector<float> rows(to_score.size() * width), scores(to_score.size() * n_out);
    std::vector<int> elements(to_score.size()); // their offsets in the inputs, for errors
    for (size_t j = 0; j < to_score.size(); j++) {
        pg::check_for_interrupts();
        elements[j] = b.element[to_score[j]];
        scoring::extract_row(m, PointerGetDatum(b.inputs[to_score[j]]), rows.data() + j * width,
                             {"inputs element", elements[j] + lower});
    }
    bool gpu = scoring::score_batch_rows(m, rows.data(), int64_t(to_score.size()), scores.data(),
                                         {"inputs element", elements.data(), int64_t(lower) - 1});
    std::vector<predict::new_prediction> fresh;
    fresh.reserve(to_score.size());
    for (size_t j = 0; j < to_score.size(); j++) {
        int i = to_score[j];
        b.outputs[i] = output_of(m, scores.data() + j * n_out);
        b.sources[i] = gpu ? "gpu" : "cpu";
        fresh.push_back({b.inputs[i], b.outputs[i], int64(cache::input_hash(b.inputs[i]))});
    }
    return fresh;
}

// Stores the new predictions, then caches them: at commit when the store's insert is part of
// this transaction, else now (unless fill_now says not at all).
void store_and_fill(const loaded_model& m, text* model,
                    const std::vector<predict::new_prediction>& fresh,
                    const std::vector<int>& to_score, const batch_elements& b)
{
    if (predict::store(model, m.version, fresh, m.written_by_this_transaction(), m.row_table)) {
        for (int i : to_score)
            predict::fill_at_commit(b.key(i), b.outputs[i], ttl_ms());
    } else if (fill_now(m)) {
        std::vector<cache::key128> fresh_keys;
        std::vector<const Jsonb*> fresh_values;
        for (int i : to_score) {
            fresh_keys.push_back(b.key(i));
            fresh_values.push_back(b.outputs[i]);
        }
        cache::fill_l1_l2(fresh_keys, fresh_values, ttl_ms());
    }
}

// Gives every copy of an element the answer of the first element equal to it.
void share_with_copies(batch_elements& b)
{
    for (int i = 0; i < int(b.which.size()); i++) {
        const int first = b.first_copy(i);
        if (first != i) {
            b.outputs[i] = b.outputs[first];
            b.sources[i] = b.sources[first];
        }
    }
}

// The jsonb[] of the answers, null where an element was null. Built in the inputs' own arrays
// of elements and nulls (deconstruct_array's, read no more), not in copies of them.
ArrayType* answers_array(text* model, int32_t version, pg::jsonb_elements& in,
                         const batch_elements& b)
{
    const int n = in.n;
    ArrayType* result = nullptr;
    Datum* datums = in.elems;
    bool* out_nulls = in.nulls;
    for (size_t i = 0; i < b.element.size(); i++) {
        pg::check_for_interrupts();
        const int e = b.element[i];
        out_nulls[e] = b.outputs[i] == nullptr;
        if (b.outputs[i] != nullptr)
            datums[e] = JsonbPGetDatum(answer(model, version, b.outputs[i], b.sources[i]));
    }
    pg::call([&] {
        // result[i] answers inputs[i], whatever the inputs' first subscript (as array_replace
        // keeps it): '[5:6]={...}' came back as [1:2].
        int dims[1] = {n};
        int lbs[1] = {in.lower};
        result = construct_md_array(datums, out_nulls, n == 0 ? 0 : 1, dims, lbs, JSONBOID, -1,
                                    false, TYPALIGN_INT);
    });
    return result;
}

} // namespace

// predict_batch(model text, inputs jsonb[], version int DEFAULT NULL) -> jsonb[]: predict() for
// each element (a null element answers null), with one Redis round trip for the L1 misses, one
// scoring batch for the inputs no level had, and one INSERT for them. Equal elements are
// answered once, and every copy gets that answer.
AI_SCALE_FUNCTION(ai_scale_predict_batch)
{
    // The model is compiled only when some input is in no cache level (row_arg).
    scoring::row_ptr row = row_arg(fcinfo);
    if (PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "inputs must not be null");
    text* model = pg::text_arg(fcinfo, 0);
    pg::jsonb_elements in = pg::jsonb_array_arg(fcinfo, 1);
    pg::note_batch(size_t(in.n));

    // Held to the end: the store's INSERT may fire triggers that change the catalog.
    scoring::model_ptr model_ref;
    int32_t version = row->version;
    std::vector<int> to_score;
    for (;;) {
        sync_new_version(*row, model);
        batch_elements b(non_null(in));
        key_elements(version, model, in, b);
        to_score = look_up(version, model, b);
        if (!to_score.empty() && model_ref == nullptr) {
            model_ref = model_arg(fcinfo);
            // Read with the same snapshot, the model is of the same row; were it not, the
            // inputs are looked up again under its own version.
            if (model_ref->version != version) {
                row = model_ref;
                version = row->version;
                continue;
            }
        }
        if (!to_score.empty()) {
            const std::vector<predict::new_prediction> fresh =
                score_elements(*model_ref, to_score, in.lower, b);
            store_and_fill(*model_ref, model, fresh, to_score, b);
        }
        share_with_copies(b);
        ArrayType* answers = answers_array(model, version, in, b);
        pg::keep_heap_for_call(VARSIZE(answers), size_t(in.n));
        PG_RETURN_ARRAYTYPE_P(answers);
    }
}
