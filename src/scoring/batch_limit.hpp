// How large a batch's matrices may grow. score_batch and predict_batch extract a whole array's
// features into one float matrix (rows x features x 4 bytes) and score it into another (rows x
// outputs): an element that lacks its features (a gbdt scores a missing one as NaN, a model with
// "defaults" fills it) is 8 bytes of jsonb but up to 40 kB of features, so a jsonb[] of a few
// MB asked for tens of GB, outside palloc and its 1 GB limit. Pure C++ (no Postgres headers).
#pragma once

#include <algorithm>
#include <cstdint>

namespace ai_scale::scoring {

// Postgres's limit on one allocation (MaxAllocSize), which no jsonb[] input can exceed either:
// an element that carries its features takes more bytes of jsonb than of floats (at least 9
// a feature: two JEntries and a key), so only elements that lack them reach it, or the scores
// of a model of many outputs (an mlp's up to 256), whose answers as jsonb (16 bytes or more a
// score) would exceed 1 GB as a jsonb[] anyway.
constexpr int64_t max_batch_bytes = 0x3fffffff;

// Bytes of the features and scores of rows rows of a model with width features and n_outputs
// outputs (width <= scoring::max_features, n_outputs <= mlp_max_width: no overflow below 2^40
// rows).
inline int64_t batch_bytes(int64_t rows, int64_t width, int64_t n_outputs)
{
    return rows * (width + n_outputs) * int64_t(sizeof(float));
}

// The most rows whose features and scores fit in max_batch_bytes; at least 1.
inline int64_t max_batch_rows(int64_t width, int64_t n_outputs)
{
    return std::max<int64_t>(1, max_batch_bytes / batch_bytes(1, width, n_outputs));
}

// Bytes of score_multi_batch's answer, a float8[] of rows x n_outputs elements with a null
// bitmap, at most: a header of 32 bytes (two dimensions), a bit an element rounded up to 8
// bytes, and 8 bytes an element. Its elements (null ones included) are each a row's output, so
// an array of nulls, a few bytes an element, asks for up to 256 x 8 bytes an element.
inline int64_t multi_answer_bytes(int64_t rows, int64_t n_outputs)
{
    const int64_t items = rows * n_outputs;
    return 32 + (items + 63) / 64 * 8 + items * 8;
}

// The most rows whose score_multi_batch answer fits in max_batch_bytes; at least 1. (8 + 1/8
// bytes an element and 40 of header and rounding bound the bytes from above; the rows that the
// rounding leaves room for are then added one at a time, at most two.)
inline int64_t max_multi_answer_rows(int64_t n_outputs)
{
    int64_t rows = (max_batch_bytes - 40) * 8 / (65 * n_outputs);
    while (multi_answer_bytes(rows + 1, n_outputs) <= max_batch_bytes)
        rows++;
    return std::max<int64_t>(1, rows);
}

// Rows per batch of score_batched: at most want (ai_scale.score_batch_rows), as many as fit
// their features in work_mem_kb (and in max_batch_bytes), and at least one.
inline int64_t window_batch_rows(int64_t want, int64_t work_mem_kb, int64_t width)
{
    const int64_t row_bytes = std::max<int64_t>(width, 1) * int64_t(sizeof(float));
    const int64_t fit = std::min(work_mem_kb * 1024, max_batch_bytes) / row_bytes;
    return std::max<int64_t>(1, std::min(want, fit));
}

} // namespace ai_scale::scoring
