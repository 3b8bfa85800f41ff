// How large a batch of score_batch, predict_batch and score_batched may grow
// (scoring/batch_limit.hpp).
#include "scoring/batch_limit.hpp"

#include "scoring/model.hpp"
#include "scoring/model_math.hpp"

#include <gtest/gtest.h>

using namespace ai_scale::scoring;

TEST(BatchLimit, BytesCountFeaturesAndScoresInInt64)
{
    EXPECT_EQ(batch_bytes(0, 16, 1), 0);
    EXPECT_EQ(batch_bytes(3, 16, 1), 3 * 17 * 4);
    // The widest model and the most elements a jsonb[] holds (MaxArraySize): 5.4 TB, no
    // wrap-around in any product.
    const int64_t max_array = 0x3fffffff / 8;
    EXPECT_EQ(batch_bytes(max_array, max_features, mlp_max_width),
              max_array * int64_t(max_features + mlp_max_width) * 4);
    EXPECT_GT(batch_bytes(max_array, max_features, mlp_max_width), max_batch_bytes);
}

TEST(BatchLimit, MaxRowsIsTheLastThatFits)
{
    for (auto [width, outputs] : {std::pair<int64_t, int64_t>{10000, 1},
                                  {16, 1},
                                  {1, 256},
                                  {max_features, mlp_max_width},
                                  {1, 1}}) {
        const int64_t rows = max_batch_rows(width, outputs);
        EXPECT_LE(batch_bytes(rows, width, outputs), max_batch_bytes) << width;
        EXPECT_GT(batch_bytes(rows + 1, width, outputs), max_batch_bytes) << width;
    }
    EXPECT_EQ(max_batch_rows(10000, 1), 26840); // sql/scoring_batch_limits.sql
}

TEST(BatchLimit, MultiAnswerCountsEveryElementAndItsNullBit)
{
    // Two dimensions: 16 bytes of header, 16 of bounds; a null bitmap rounded up to 8 bytes.
    EXPECT_EQ(multi_answer_bytes(0, 3), 32);
    EXPECT_EQ(multi_answer_bytes(1, 3), 32 + 8 + 24);
    EXPECT_EQ(multi_answer_bytes(64, 1), 32 + 8 + 512);
    EXPECT_EQ(multi_answer_bytes(65, 1), 32 + 16 + 520);
    const int64_t max_array = 0x3fffffff / 8;
    EXPECT_GT(multi_answer_bytes(max_array, mlp_max_width), max_batch_bytes);
    for (int64_t outputs : {int64_t(1), int64_t(2), int64_t(3), int64_t(7), int64_t(mlp_max_width)}) {
        const int64_t rows = max_multi_answer_rows(outputs);
        EXPECT_LE(multi_answer_bytes(rows, outputs), max_batch_bytes) << outputs;
        EXPECT_GT(multi_answer_bytes(rows + 1, outputs), max_batch_bytes) << outputs;
    }
    EXPECT_EQ(max_multi_answer_rows(256), 516222); // sql/scoring_batch_limits.sql
}

TEST(BatchLimit, WindowBatchesFitWorkMemAndTheLimit)
{
    // 4 MB of work_mem: 65,536 rows of 16 features, cut to score_batch_rows.
    EXPECT_EQ(window_batch_rows(4096, 4096, 16), 4096);
    EXPECT_EQ(window_batch_rows(1 << 20, 4096, 16), 65536);
    // A row wider than work_mem: one row at a time.
    EXPECT_EQ(window_batch_rows(4096, 64, 10000), 1);
    EXPECT_EQ(window_batch_rows(4096, 4096, 0), 4096);
    // work_mem at its largest (2 TB) and score_batch_rows at its (1,048,576 rows): 40 GB of
    // features for a model of 10,000, cut to what one allocation may take.
    const int64_t max_work_mem_kb = 0x7fffffff;
    const int64_t rows = window_batch_rows(1 << 20, max_work_mem_kb, 10000);
    EXPECT_LE(rows * 10000 * 4, max_batch_bytes);
    EXPECT_EQ(rows, max_batch_bytes / (10000 * 4));
}
