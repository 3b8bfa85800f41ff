// The SQL entry points of scoring: score, score_multi, score_batch, score_multi_batch and the
// window function score_batched; the helpers of model registration are in registration_sql.cpp.
#include "cache/key.hpp"
#include "scoring/batch_limit.hpp"
#include "scoring/catalog.hpp"
#include "scoring/score_sql.hpp"
#include "scoring/extract.hpp"
#include "scoring/gpu_offload.hpp"

#include "guc.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"
#include "pg/kept_heap.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "windowapi.h"
}

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

using namespace ai_scale;
using namespace ai_scale::scoring;

namespace {

std::string describe(const row_origin& o)
{
    if (!o.index)
        return o.what;
    return std::string(o.what) + " " + std::to_string(*o.index);
}

// The root container of a jsonb datum, read in place unless it is toasted.
void jsonb_bytes(Datum d, const uint8_t** p, size_t* len)
{
    struct varlena* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
    if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
        v = pg::call([&] { return pg_detoast_datum_packed(v); });
    *p = reinterpret_cast<const uint8_t*>(VARDATA_ANY(v));
    *len = VARSIZE_ANY_EXHDR(v);
}

} // namespace

void ai_scale::scoring::extract_row(const loaded_model& m, Datum input, float* row,
                                    const row_origin& origin)
{
    const uint8_t* p;
    size_t len;
    jsonb_bytes(input, &p, &len);
    feature_extractor::result r = m.extractor.extract(p, len, row);
    if (r.st == feature_extractor::status::ok)
        return;
    std::string where = describe(origin);
    switch (r.st) {
    case feature_extractor::status::not_object:
        throw pg::error(ERRCODE_INVALID_TEXT_REPRESENTATION, where + " is not a json object",
                        "Model \"" + m.name + "\" reads its features from an object's keys.");
    case feature_extractor::status::missing:
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "feature \"" + m.extractor.name(r.feature) + "\" is missing from " + where,
                        "Model \"" + m.name + "\" version " + std::to_string(m.version) +
                            " has no default for it.",
                        "Add the key, or register a version whose params declare \"defaults\".");
    case feature_extractor::status::bad_type:
        throw pg::error(ERRCODE_INVALID_TEXT_REPRESENTATION,
                        "feature \"" + m.extractor.name(r.feature) + "\" of " + where + " is " +
                            r.found + ", not a number or boolean");
    case feature_extractor::status::out_of_range:
        throw pg::error(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                        "feature \"" + m.extractor.name(r.feature) + "\" of " + where +
                            " is out of range for float4");
    default:
        throw pg::error(ERRCODE_DATA_CORRUPTED, where + " is not a valid jsonb value");
    }
}

namespace {

// The model named by a text argument, remembered in fn_extra between calls. The pointer is
// valid while the cache's epoch holds: the cache drops models only when it changes.
struct fn_cache {
    uint64_t epoch;
    const loaded_model* model;
    int32_t version;
    int32_t name_len;
    char name[256];
};

} // namespace

int32_t ai_scale::scoring::version_arg(FunctionCallInfo fcinfo, int argno)
{
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
        return -1;
    return cache::check_model_version(PG_GETARG_INT32(argno));
}

namespace {

// The model name argument's bytes.
std::string_view name_arg(FunctionCallInfo fcinfo)
{
    const text* t = pg::text_arg(fcinfo, 0);
    return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

// The model remembered in fn_extra for name at version, when the active snapshot may still use
// it; nullptr otherwise.
const loaded_model* remembered(FunctionCallInfo fcinfo, std::string_view name, int32_t version)
{
    auto* c = static_cast<fn_cache*>(fcinfo->flinfo->fn_extra);
    if (c == nullptr)
        return nullptr;
    // fn_extra may outlive the statement: a PL/pgSQL function keeps the state of its simple
    // expressions to the end of the transaction, so a function that scored at one statement
    // of a transaction block went on scoring the version it found there at the later ones,
    // after another session's change had committed. The change's invalidation is taken in
    // first, as lookup_model does (it bumps the epoch).
    pg::call([] { AcceptInvalidationMessages(); });
    // The same expression may run under an older snapshot than the one it found its model
    // with (a STABLE function's, called from a cursor declared before a catalog change), or
    // under a newer one that sees the model's row replaced before this backend has taken the
    // change's invalidation (lookup_model then drops the model).
    if (c->epoch == model_cache_epoch() && c->version == version &&
        std::string_view(c->name, size_t(c->name_len)) == name &&
        c->model->usable_by_active_snapshot())
        return c->model;
    return nullptr;
}

} // namespace

row_ptr ai_scale::scoring::resolve_row(FunctionCallInfo fcinfo, int32_t version)
{
    const std::string_view name = name_arg(fcinfo);
    if (const loaded_model* m = remembered(fcinfo, name, version))
        return m->shared_from_this();
    return lookup_row(std::string(name), version);
}

model_ptr ai_scale::scoring::resolve(FunctionCallInfo fcinfo, int32_t version)
{
    const std::string_view name = name_arg(fcinfo);
    if (const loaded_model* m = remembered(fcinfo, name, version))
        return m->shared_from_this();
    auto* c = static_cast<fn_cache*>(fcinfo->flinfo->fn_extra);
    bool cached = false;
    model_ptr m = lookup_model(std::string(name), version, &cached);
    // A model the cache does not keep would dangle in fn_extra.
    if (!cached) {
        if (c != nullptr)
            c->epoch = 0; // never the cache's (it starts at 1)
        return m;
    }
    if (name.size() <= sizeof c->name) {
        if (c == nullptr) {
            c = static_cast<fn_cache*>(pg::call(
                [&] { return MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(fn_cache)); }));
            fcinfo->flinfo->fn_extra = c;
        }
        c->epoch = model_cache_epoch();
        c->model = m.get();
        c->version = version;
        c->name_len = int32_t(name.size());
        memcpy(c->name, name.data(), name.size());
    }
    return m;
}

namespace {

void require_single_output(const loaded_model& m)
{
    if (m.model.n_outputs != 1)
        throw pg::error(
            ERRCODE_INVALID_PARAMETER_VALUE,
            "model \"" + m.name + "\" has " + std::to_string(m.model.n_outputs) + " outputs", "",
            "Use ai_scale.score_multi() for one input of a model with several "
            "outputs, ai_scale.score_multi_batch() for an array of them.");
}

void count_cpu(int64_t rows, uint64_t ns)
{
    stats::add(stats::counter::rows_scored_cpu, uint64_t(rows));
    stats::add(stats::counter::score_cpu_ns, ns);
    stats::record(stats::timer::score, ns);
}

// score() and score_multi() of one row take a few hundred nanoseconds, of which two clock
// reads and three atomic adds in shared memory took about a tenth. So one call in
// stats::timed_every is timed, its time counted for all of them, and the rows are counted per
// backend (add_deferred).
stats::call_sampler row_sampler;

void score_counted_row(const loaded_model& m, const float* row, float* out)
{
    stats::add_deferred(stats::counter::rows_scored_cpu);
    if (!row_sampler.timed()) {
        m.model.score_rows(row, 1, out);
        return;
    }
    uint64_t t0 = stats::now_ns();
    m.model.score_rows(row, 1, out);
    uint64_t ns = stats::now_ns() - t0;
    stats::add_deferred(stats::counter::score_cpu_ns, ns * stats::timed_every);
    stats::record(stats::timer::score, ns);
}

} // namespace

// Scores are computed in float4, the same way on the CPU and the GPU; a sum that overflows
// gives infinity or NaN, which is refused rather than returned.
void ai_scale::scoring::require_finite(const loaded_model& m, const float* out, int64_t n,
                                       const batch_origin& origin)
{
    for (int64_t i = 0; i < n; i++)
        if (!std::isfinite(out[i])) {
            const int64_t k = i / m.model.n_outputs;
            std::string where =
                origin.what == nullptr
                    ? std::string("The input")
                    : describe({origin.what,
                                (origin.position ? origin.position[k] : k) + 1 + origin.offset});
            // As English, whatever the server's LC_CTYPE (Turkish made "inputs" İnputs).
            where[0] = char(pg_ascii_toupper(static_cast<unsigned char>(where[0])));
            throw pg::error(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                            "score of model \"" + m.name + "\" version " +
                                std::to_string(m.version) + " is out of range",
                            where + " scored " + (std::isnan(out[i]) ? "NaN" : "infinity") +
                                ": a sum of the model overflowed float4.",
                            "Scale the model's inputs or weights down.");
        }
}

void ai_scale::scoring::require_batch_fits(const loaded_model& m, int64_t n)
{
    const int64_t width = int64_t(m.model.features.size());
    const int64_t bytes = batch_bytes(n, width, m.model.n_outputs);
    if (bytes <= max_batch_bytes)
        return;
    throw pg::error(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                    "batch of " + std::to_string(n) + " rows is too large for model \"" + m.name +
                        "\"",
                    "Its features and scores (" + std::to_string(width) + " and " +
                        std::to_string(m.model.n_outputs) + " float4 a row) would take " +
                        std::to_string(bytes) + " bytes, more than the maximum of " +
                        std::to_string(max_batch_bytes) + ": at most " +
                        std::to_string(max_batch_rows(width, m.model.n_outputs)) + " rows fit.",
                    "Score the inputs in smaller arrays, or with ai_scale.score_batched().");
}

bool ai_scale::scoring::score_batch_rows(const loaded_model& m, const float* rows, int64_t n,
                                         float* out, const batch_origin& origin)
{
    if (n == 0)
        return false;
    if (gpu_offload::score(m.ref, rows, n, out)) {
        require_finite(m, out, n * m.model.n_outputs, origin);
        return true;
    }
    // In blocks, so that a cancel or statement_timeout stops a long batch (the model code
    // itself knows nothing of Postgres).
    const int64_t block = m.model.rows_between_checks();
    const int64_t width = int64_t(m.model.features.size());
    uint64_t t0 = stats::now_ns();
    for (int64_t r = 0; r < n; r += block) {
        pg::check_for_interrupts();
        m.model.score_rows(rows + r * width, std::min(block, n - r), out + r * m.model.n_outputs);
    }
    count_cpu(n, stats::now_ns() - t0);
    require_finite(m, out, n * m.model.n_outputs, origin);
    return false;
}

namespace {

std::vector<float>& row_buffer(size_t floats)
{
    static std::vector<float> buf;
    if (buf.size() < floats)
        buf.resize(floats);
    return buf;
}

// A float8[] of n values.
ArrayType* float8_array(const double* values, const bool* nulls, int n)
{
    return pg::call([&] {
        Datum* d = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(std::max(n, 1))));
        for (int i = 0; i < n; i++)
            d[i] = Float8GetDatum(values[i]);
        int dims[1] = {n};
        int lbs[1] = {1};
        return construct_md_array(d, const_cast<bool*>(nulls), 1, dims, lbs, FLOAT8OID, 8,
                                  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    });
}

} // namespace

// score(model text, input jsonb, version int DEFAULT NULL) -> float8
AI_SCALE_FUNCTION(ai_scale_score)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        PG_RETURN_NULL();
    const model_ptr model = resolve(fcinfo, version_arg(fcinfo, 2));
    const loaded_model& m = *model;
    require_single_output(m);
    float* row = row_buffer(m.model.features.size()).data();
    extract_row(m, PG_GETARG_DATUM(1), row, {"the input", std::nullopt});
    float out;
    score_counted_row(m, row, &out);
    require_finite(m, &out, 1);
    PG_RETURN_FLOAT8(double(out));
}

// score_multi(model text, input jsonb, version int DEFAULT NULL) -> float8[]
AI_SCALE_FUNCTION(ai_scale_score_multi)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        PG_RETURN_NULL();
    const model_ptr model = resolve(fcinfo, version_arg(fcinfo, 2));
    const loaded_model& m = *model;
    int32_t n_out = m.model.n_outputs;
    std::vector<float>& buf = row_buffer(m.model.features.size() + size_t(n_out));
    float* row = buf.data();
    float* out = row + m.model.features.size();
    extract_row(m, PG_GETARG_DATUM(1), row, {"the input", std::nullopt});
    score_counted_row(m, row, out);
    require_finite(m, out, n_out);
    std::vector<double> values(out, out + n_out);
    std::vector<char> nulls(size_t(n_out), 0);
    PG_RETURN_ARRAYTYPE_P(
        float8_array(values.data(), reinterpret_cast<bool*>(nulls.data()), n_out));
}

namespace {

// The features of an inputs array's elements that are not null, one row each, and the element
// index of each row; the batch refused (54000) before any is extracted when they cannot fit.
struct extracted_batch {
    std::vector<float> rows;
    std::vector<int> present;
};

extracted_batch extract_batch(const loaded_model& m, const pg::jsonb_elements& in)
{
    const size_t width = m.model.features.size();
    // Null elements take no room.
    const size_t n_present = size_t(std::count(in.nulls, in.nulls + in.n, false));
    require_batch_fits(m, int64_t(n_present));
    extracted_batch b;
    b.rows.resize(n_present * width);
    b.present.reserve(n_present);
    for (int i = 0; i < in.n; i++) {
        if (in.nulls[i])
            continue;
        pg::check_for_interrupts();
        extract_row(m, in.elems[i], b.rows.data() + b.present.size() * width,
                    {"inputs element", i + in.lower});
        b.present.push_back(i);
    }
    return b;
}

} // namespace

// score_batch(model text, inputs jsonb[], version int DEFAULT NULL) -> float8[]
// A null element scores as null.
AI_SCALE_FUNCTION(ai_scale_score_batch)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        PG_RETURN_NULL();
    const model_ptr model = resolve(fcinfo, version_arg(fcinfo, 2));
    const loaded_model& m = *model;
    require_single_output(m);
    // Under pg::call (pg/args.hpp): detoasting may fail (out of memory), and a Postgres error
    // jumping past model kept the compiled model alive for the backend's life.
    const pg::jsonb_elements in = pg::jsonb_array_arg(fcinfo, 1);
    // Its heap handed back at the end of the transaction, as predict_batch's (a backend kept
    // 60 MB after 500,000 rows of 16 features).
    pg::note_batch(size_t(in.n));
    const extracted_batch b = extract_batch(m, in);
    std::vector<float> out(b.present.size());
    score_batch_rows(m, b.rows.data(), int64_t(b.present.size()), out.data(),
                     {"inputs element", b.present.data(), int64_t(in.lower) - 1});
    // The scores are written over the inputs' elements (deconstruct_array's, read no more),
    // with their nulls as they are: copies of both took 17 bytes an element more, 68 MB for
    // an array of 4 million nulls. result[i] is the score of inputs[i], whatever the inputs'
    // first subscript (as array_replace keeps it): '[5:6]={...}' came back as [1:2].
    for (size_t k = 0; k < b.present.size(); k++)
        in.elems[b.present[k]] = Float8GetDatum(double(out[k]));
    PG_RETURN_ARRAYTYPE_P(pg::call([&] {
        int dims[1] = {in.n};
        int lbs[1] = {in.lower};
        return construct_md_array(in.elems, in.nulls, 1, dims, lbs, FLOAT8OID, 8, FLOAT8PASSBYVAL,
                                  TYPALIGN_DOUBLE);
    }));
}

// score_multi_batch(model text, inputs jsonb[], version int DEFAULT NULL) -> float8[][]
// Row i of the answer holds every output of inputs[i], in the model's order (a row of one for a
// model of one output); a null element gives a row of nulls. The rows keep the inputs'
// subscripts, the outputs are numbered from 1.
AI_SCALE_FUNCTION(ai_scale_score_multi_batch)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        PG_RETURN_NULL();
    const model_ptr model = resolve(fcinfo, version_arg(fcinfo, 2));
    const loaded_model& m = *model;
    const pg::jsonb_elements in = pg::jsonb_array_arg(fcinfo, 1);
    const int n_out = m.model.n_outputs;
    // Checked first: an array of nulls is a bit an element, and its answer n_out float8s.
    const int64_t answer_bytes = multi_answer_bytes(in.n, n_out);
    if (answer_bytes > max_batch_bytes)
        throw pg::error(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                        "answer of " + std::to_string(in.n) + " rows is too large for model \"" +
                            m.name + "\"",
                        "Its " + std::to_string(n_out) + " outputs a row as float8 would take " +
                            std::to_string(answer_bytes) + " bytes, more than the maximum of " +
                            std::to_string(max_batch_bytes) + ": at most " +
                            std::to_string(max_multi_answer_rows(n_out)) + " rows fit.",
                        "Score the inputs in smaller arrays.");
    pg::note_batch(size_t(in.n));
    const extracted_batch b = extract_batch(m, in);
    std::vector<float> out(b.present.size() * size_t(n_out));
    score_batch_rows(m, b.rows.data(), int64_t(b.present.size()), out.data(),
                     {"inputs element", b.present.data(), int64_t(in.lower) - 1});
    // Written in place, not through construct_md_array, whose element and null arrays took 9
    // bytes an element more than the answer (2.8 GB at the peak for a 1 GB answer); a cancel is
    // noticed every 4,096 rows.
    const int items = in.n * n_out;
    PG_RETURN_ARRAYTYPE_P(pg::call([&] {
        if (items == 0)
            return construct_empty_array(FLOAT8OID);
        const bool any_null = b.present.size() < size_t(in.n);
        const int32 dataoffset = any_null ? int32(ARR_OVERHEAD_WITHNULLS(2, items)) : 0;
        const size_t bytes = size_t(any_null ? dataoffset : ARR_OVERHEAD_NONULLS(2)) +
                             b.present.size() * size_t(n_out) * sizeof(float8);
        auto* answer = static_cast<ArrayType*>(palloc0(bytes));
        SET_VARSIZE(answer, bytes);
        answer->ndim = 2;
        answer->dataoffset = dataoffset;
        answer->elemtype = FLOAT8OID;
        ARR_DIMS(answer)[0] = in.n;
        ARR_DIMS(answer)[1] = n_out;
        ARR_LBOUND(answer)[0] = in.lower;
        ARR_LBOUND(answer)[1] = 1;
        bits8* bitmap = ARR_NULLBITMAP(answer); // zeroed: every element null until written
        auto* data = reinterpret_cast<float8*>(ARR_DATA_PTR(answer));
        for (size_t k = 0; k < b.present.size(); k++) {
            if ((k & 4095) == 4095)
                CHECK_FOR_INTERRUPTS();
            const size_t at = size_t(b.present[k]) * size_t(n_out);
            for (int j = 0; j < n_out; j++) {
                *data++ = double(out[k * size_t(n_out) + size_t(j)]);
                if (bitmap != nullptr)
                    bitmap[(at + size_t(j)) / 8] |= bits8(1 << ((at + size_t(j)) % 8));
            }
        }
        return answer;
    }));
}

namespace {

// Rows per batch of score_batched: ai_scale.score_batch_rows, cut so that the batch's
// features (rows x width float4) fit in work_mem and in max_batch_bytes, and at least one row.
int64_t batch_rows(size_t width)
{
    return window_batch_rows(guc::score_batch_rows, int64_t(work_mem), int64_t(width));
}

// The heap a backend keeps after a batch of score_batched: four times its inputs' bytes
// (fill_batch).
constexpr size_t window_heap_factor = 4;

// Partition-local state of score_batched: the scores of rows [start, start + n).
struct window_batch {
    int64_t start;
    int64_t n;
    double* scores;
    bool* nulls;
    int64_t capacity;
};

// score_batched scores a batch of rows with one model: its name and version may not vary.
void require_constant_model(FunctionCallInfo fcinfo)
{
    if (!get_fn_expr_arg_stable(fcinfo->flinfo, 0) ||
        (PG_NARGS() > 2 && !get_fn_expr_arg_stable(fcinfo->flinfo, 2)))
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "score_batched needs a constant model name and version", "",
                        "Use ai_scale.score() when the model varies from row to row.");
}

// The version argument at the current row; -1 (the active version) when null or not given.
int32_t window_version_arg(FunctionCallInfo fcinfo, WindowObject win)
{
    int32_t version = -1;
    if (PG_NARGS() > 2) {
        bool isnull;
        Datum v = pg::call([&] { return WinGetFuncArgCurrent(win, 2, &isnull); });
        if (!isnull)
            version = cache::check_model_version(DatumGetInt32(v));
    }
    return version;
}

// Room in st for the scores of a batch, in the memory that lives as long as the partition.
void reserve_scores(window_batch* st, int64_t batch)
{
    if (st->capacity < batch) {
        MemoryContext cxt = GetMemoryChunkContext(st);
        st->scores = static_cast<double*>(
            pg::call([&] { return MemoryContextAlloc(cxt, sizeof(double) * size_t(batch)); }));
        st->nulls = static_cast<bool*>(
            pg::call([&] { return MemoryContextAlloc(cxt, sizeof(bool) * size_t(batch)); }));
        st->capacity = batch;
    }
}

// The memory of one row's input while its features are read: the input computed (an
// expression's result) or detoasted (an object stored with a large payload beside its
// features). A window function's call runs in memory emptied only after it, so the inputs of a
// whole batch stayed there to its end: 2000 inputs of 32 kB took 63 MB, for 16 kB of features,
// and 32 GB at a batch of a million rows (TAP 300). Each row's is freed once it is read.
class input_memory {
  public:
    input_memory()
        : caller_(CurrentMemoryContext), cxt_(pg::call([] {
              return AllocSetContextCreate(CurrentMemoryContext, "ai_scale score_batched input",
                                           ALLOCSET_SMALL_SIZES);
          }))
    {}
    ~input_memory()
    {
        MemoryContextSwitchTo(caller_);
        MemoryContextDelete(cxt_);
    }
    input_memory(const input_memory&) = delete;
    input_memory& operator=(const input_memory&) = delete;

    // Runs read in this memory, emptied after it (also when it throws).
    template <typename Read> void row(Read&& read)
    {
        struct emptied {
            input_memory* m;
            ~emptied()
            {
                MemoryContextSwitchTo(m->caller_);
                MemoryContextReset(m->cxt_);
            }
        } after{this};
        MemoryContextSwitchTo(cxt_);
        read();
    }

  private:
    MemoryContext caller_;
    MemoryContext cxt_;
};

// Reads up to batch rows of the partition from pos on (fewer at its end), notes which are null
// in st, and extracts the features of the others into rows, listing them in present; adds the
// bytes of the inputs read to input_bytes. Returns how many rows it read.
int64_t extract_window_rows(WindowObject win, const loaded_model& m, window_batch* st, int64_t pos,
                            int64_t batch, std::vector<float>& rows, std::vector<int32_t>& present,
                            size_t& input_bytes)
{
    const size_t width = m.model.features.size();
    input_memory memory;
    bool isnull, isout = false;
    int64_t n = 0;
    for (; n < batch; n++) {
        pg::check_for_interrupts();
        memory.row([&] {
            Datum input = pg::call([&] {
                return WinGetFuncArgInPartition(win, 1, int(n), WINDOW_SEEK_CURRENT, false, &isnull,
                                                &isout);
            });
            if (isout)
                return;
            st->nulls[n] = isnull;
            if (isnull)
                return;
            input_bytes += VARSIZE_ANY(DatumGetPointer(input));
            const size_t need = (present.size() + 1) * width;
            if (rows.size() < need) // grown by doubling, not resized (zero-filled) at each row
                rows.resize(std::min(std::max(need, 2 * rows.size()), size_t(batch) * width));
            extract_row(m, input, rows.data() + present.size() * width, {"row", pos + n + 1});
            present.push_back(int32_t(n));
        });
        if (isout)
            break;
    }
    return n;
}

// Scores the batch of rows from pos on with the named model and keeps their scores in st.
void fill_batch(WindowObject win, window_batch* st, int64_t pos, Datum name, int32_t version)
{
    // Held for the whole batch: evaluating the input may run code that changes the
    // catalog, and the cache then drops its copy of the model.
    text* t = DatumGetTextPP(name);
    const model_ptr model =
        lookup_model(std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)), version);
    const loaded_model& m = *model;
    require_single_output(m);
    const int64_t batch = batch_rows(m.model.features.size());
    reserve_scores(st, batch);
    // Grown row by row: a partition shorter than the batch costs only its own rows.
    std::vector<float> rows;
    std::vector<int32_t> present;
    size_t input_bytes = 0;
    const int64_t n = extract_window_rows(win, m, st, pos, batch, rows, present, input_bytes);
    // The window buffers the batch's rows, each larger than its input, in memory that grows in
    // blocks twice as large each time. glibc gave the largest back after each query, and the
    // next faulted them in again (src/pg/kept_heap.hpp): 615 page faults a query over 200,000
    // rows of 16 features, a block of 2 MB for 1 MB of inputs a batch; 64 with the heap kept.
    pg::keep_freed_heap(input_bytes * window_heap_factor);
    std::vector<float> out(present.size());
    score_batch_rows(m, rows.data(), int64_t(present.size()), out.data(),
                     {"row", present.data(), pos});
    for (size_t k = 0; k < present.size(); k++)
        st->scores[present[k]] = double(out[k]);
    st->start = pos;
    st->n = n;
}

} // namespace

// score_batched(model text, input jsonb, version int DEFAULT NULL) OVER (...) -> float8:
// fills a batch of up to ai_scale.score_batch_rows rows ahead of the current one (fewer when
// their features would not fit in work_mem), scores them at once (on the GPU when it takes
// them), then hands the scores out row by row.
AI_SCALE_FUNCTION(ai_scale_score_batched)
{
    // Called for every row: the window calls here and below, with no C++ object alive in
    // this frame, are made directly, without a PG_TRY each (guard.hpp).
    WindowObject win = PG_WINDOW_OBJECT();
    auto* st = static_cast<window_batch*>(WinGetPartitionLocalMemory(win, sizeof(window_batch)));
    int64_t pos = WinGetCurrentPosition(win);
    if (st->n == 0 || pos < st->start || pos >= st->start + st->n) {
        require_constant_model(fcinfo);
        bool isnull;
        Datum name = pg::call([&] { return WinGetFuncArgCurrent(win, 0, &isnull); });
        if (isnull) {
            PG_RETURN_NULL();
        }
        fill_batch(win, st, pos, name, window_version_arg(fcinfo, win));
    }
    // Rows before the current one are no longer needed: the window's buffer may drop them.
    WinSetMarkPosition(win, pos);
    if (st->nulls[pos - st->start])
        PG_RETURN_NULL();
    PG_RETURN_FLOAT8(st->scores[pos - st->start]);
}
