// gpu_info(): what GPU module and devices this backend found, and why the GPU path is or is not
// live; _gpu_score_test(): a batch through the GPU seam with an inline linear model, for the
// regression tests and for diagnosis.
#include "guc.hpp"
#include "pg/guard.hpp"
#include "scoring/gpu_offload.hpp"
#include "scoring/model.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

#include <cstring>
#include <string>

using namespace ai_scale;

namespace {

const char* mode_name()
{
    switch (guc::gpu_mode) {
    case guc::gpu_on:
        return "on";
    case guc::gpu_off:
        return "off";
    default:
        return "auto";
    }
}

std::string json_string(const std::string& s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            continue;
        out += c;
    }
    return out + "\"";
}

} // namespace

AI_SCALE_FUNCTION(ai_scale_gpu_info)
{
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "gpu_info must be called in a context that accepts a record");
    char *library, *reason, *devices;
    bool loaded, live;
    {
        scoring::gpu_offload::status s = scoring::gpu_offload::probe();
        std::string dev = "[";
        for (const auto& d : s.devices) {
            if (dev.size() > 1)
                dev += ", ";
            dev += "{\"ordinal\": " + std::to_string(d.ordinal) +
                   ", \"name\": " + json_string(d.name) + ", \"compute_capability\": \"" +
                   std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor) +
                   "\", \"total_mb\": " + std::to_string(d.total_bytes >> 20) +
                   ", \"free_mb\": " + std::to_string(d.free_bytes >> 20) +
                   ", \"chosen\": " + (d.chosen ? "true" : "false") + "}";
        }
        dev += "]";
        // (A void pg::call: the value-returning form trips -Wclobbered in guard.hpp.)
        pg::call([&] {
            library = pstrdup(s.library.c_str());
            reason = pstrdup(s.reason.c_str());
            devices = pstrdup(dev.c_str());
        });
        loaded = s.loaded;
        live = s.live;
    }
    Datum values[6];
    bool nulls[6] = {false, false, false, false, false, false};
    values[0] = CStringGetTextDatum(mode_name());
    values[1] = CStringGetTextDatum(library);
    values[2] = BoolGetDatum(loaded);
    values[3] = BoolGetDatum(live);
    values[4] = CStringGetTextDatum(reason);
    values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(devices));
    tupdesc = BlessTupleDesc(tupdesc);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

namespace {

struct matrix_source {
    const float* rows;
    int32_t n_features;
    static bool extract(void* ctx, int64_t first_row, int64_t n_rows, float* dst)
    {
        auto* self = static_cast<matrix_source*>(ctx);
        std::memcpy(dst, self->rows + first_row * self->n_features,
                    sizeof(float) * size_t(n_rows) * size_t(self->n_features));
        return true;
    }
};

} // namespace

// _gpu_score_test(rows float8[][], weights float8[], bias float8, streamed bool)
//   -> (path, scores float8[])
// streamed: hand the rows over chunk by chunk (score_streamed) instead of all at once.
AI_SCALE_FUNCTION(ai_scale_gpu_score_test)
{
    ArrayType* rows_arr = PG_GETARG_ARRAYTYPE_P(0);
    ArrayType* w_arr = PG_GETARG_ARRAYTYPE_P(1);
    double bias = PG_GETARG_FLOAT8(2);
    bool streamed = PG_GETARG_BOOL(3);
    if (ARR_NDIM(rows_arr) != 2 || ARR_NDIM(w_arr) != 1)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "rows must be a 2-D and weights a 1-D float8 array");
    if (ARR_HASNULL(rows_arr) || ARR_HASNULL(w_arr))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "rows and weights must not contain nulls");
    int n_rows = ARR_DIMS(rows_arr)[0], n_features = ARR_DIMS(rows_arr)[1];
    if (ARR_DIMS(w_arr)[0] != n_features)
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "weights must have one entry per column of rows");
    const double* x = reinterpret_cast<const double*>(ARR_DATA_PTR(rows_arr));
    const double* w = reinterpret_cast<const double*>(ARR_DATA_PTR(w_arr));

    float* rows =
        static_cast<float*>(palloc(sizeof(float) * size_t(n_rows) * size_t(n_features) + 1));
    float* weights = static_cast<float*>(palloc(sizeof(float) * size_t(n_features) + 1));
    float* out = static_cast<float*>(palloc(sizeof(float) * size_t(n_rows) + 1));
    for (int64_t i = 0; i < int64_t(n_rows) * n_features; i++)
        rows[i] = float(x[i]);
    for (int f = 0; f < n_features; f++)
        weights[f] = float(w[f]);
    // The parameters as scored, as a compiled model's fingerprint: the count and the floats'
    // bytes. (Over the weights in millionths, [1e-7] and [4e-7] were one model, and [1e20] and
    // [-1e20] another: the GPU scored a call with the weights of one before, cached on the
    // device under that key.)
    const float bias_as_scored = float(bias);
    uint64_t fingerprint = scoring::fnv(scoring::fnv_basis, &n_features, sizeof n_features);
    fingerprint = scoring::fnv(fingerprint, weights, sizeof(float) * size_t(n_features));
    fingerprint = scoring::fnv(fingerprint, &bias_as_scored, sizeof bias_as_scored);

    scoring::gpu_offload::model_ref m{};
    m.name = "_gpu_score_test";
    m.version = 1;
    m.fingerprint = fingerprint;
    m.kind = scoring::model_kind::linear;
    m.n_features = n_features;
    m.n_outputs = 1;
    m.linear = {weights, bias_as_scored, n_features, false};
    matrix_source source{rows, n_features};
    bool on_gpu =
        streamed
            ? scoring::gpu_offload::score_streamed(m, n_rows, &matrix_source::extract, &source, out)
            : scoring::gpu_offload::score(m, rows, n_rows, out);
    if (!on_gpu)
        for (int i = 0; i < n_rows; i++)
            out[i] = scoring::linear_score(m.linear, rows + int64_t(i) * n_features);

    Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n_rows) + 1));
    for (int i = 0; i < n_rows; i++)
        elems[i] = Float8GetDatum(double(out[i]));
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        throw pg::error(ERRCODE_FEATURE_NOT_SUPPORTED,
                        "_gpu_score_test must be called in a context that accepts a record");
    Datum values[2];
    bool nulls[2] = {false, false};
    values[0] = CStringGetTextDatum(on_gpu ? "gpu" : "cpu");
    values[1] = PointerGetDatum(construct_array(elems, n_rows, FLOAT8OID, sizeof(float8),
                                                FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    tupdesc = BlessTupleDesc(tupdesc);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
