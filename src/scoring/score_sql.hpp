// The scoring steps the SQL functions of score_sql.cpp share with predict() and predict_batch
// (src/predict/predict_sql.cpp): the model named by a call's arguments, a row's features read
// from its jsonb, and a batch of rows scored (on the GPU when the offload takes it).
#pragma once

#include "scoring/catalog.hpp"

#include <cstdint>
#include <optional>

struct FunctionCallInfoBaseData;

namespace ai_scale::scoring {

// The model named by argument 0 (version < 0: active), remembered in the call's fn_extra.
model_ptr resolve(FunctionCallInfoBaseData* fcinfo, int32_t version);

// The catalog row of that model, for predict() to look its answers up by version: the model
// remembered in fn_extra when there is one, else lookup_row (which compiles nothing).
row_ptr resolve_row(FunctionCallInfoBaseData* fcinfo, int32_t version);

// The optional "version int" argument at argno: -1 when absent or NULL (the active version);
// raises 22023 for a version <= 0.
int32_t version_arg(FunctionCallInfoBaseData* fcinfo, int argno);

// Where a row came from, for error messages.
struct row_origin {
    const char* what;             // "the input", "inputs element", "row"
    std::optional<int64_t> index; // its subscript (an array's may be 0 or less); none for one input
};

// Extracts the features of a jsonb Datum into row; raises 22P02 / 22023 / 22003 naming origin.
void extract_row(const loaded_model& m, uintptr_t input, float* row, const row_origin& origin);

// Where each row of a scored batch came from, for the 22003 of a score that is not finite:
// row k is what, number position[k] + 1 (k + 1 without position). A batch made of some of the
// caller's inputs (null elements and cache hits left out) names the input, not its place in the
// batch. With what null (score(), score_multi() and predict() of one input), the error names
// the input.
struct batch_origin {
    const char* what = nullptr;
    const int* position = nullptr;
    // Added to every number: an array's first subscript less 1, computed in int64_t, as an
    // array from -2147483648 overflowed int (its element was named 2147483648).
    int64_t offset = 0;
};

// Raises 22003 unless the n values at out are finite (a float4 sum overflowed).
void require_finite(const loaded_model& m, const float* out, int64_t n,
                    const batch_origin& origin = {});

// Raises 54000 when the features and scores of n rows of m would take more than
// max_batch_bytes (scoring/batch_limit.hpp): checked before a batch of a caller's array is
// extracted.
void require_batch_fits(const loaded_model& m, int64_t n);

// Scores n extracted rows into out (n * n_outputs): on the GPU when the offload takes them
// (returns true), else on the CPU (counted in the stats). Raises 22003 for a score that is not
// finite, naming its row as origin says.
bool score_batch_rows(const loaded_model& m, const float* rows, int64_t n, float* out,
                      const batch_origin& origin = {});

} // namespace ai_scale::scoring
