// Which models ai_scale.gpu = auto sends to the GPU (scoring/gpu_worth.hpp).
#include "scoring/gpu_worth.hpp"

#include <gtest/gtest.h>

using ai_scale::scoring::model_kind;
using ai_scale::scoring::work_per_row;
using ai_scale::scoring::worth_the_gpu;

namespace {

// A complete tree of depth d has 2^(d+1) - 1 nodes, and a walk visits d + 1 of them.
int64_t complete_nodes(int trees, int depth)
{
    return int64_t(trees) * ((int64_t(1) << (depth + 1)) - 1);
}

} // namespace

TEST(GpuWorth, WorkCountsMultiplyAddsAndNodesVisited)
{
    EXPECT_EQ(work_per_row(model_kind::linear, 16, 0, 0, 0), 16);
    EXPECT_EQ(work_per_row(model_kind::logistic, 300, 0, 0, 0), 300);
    // mlp 16-64-64-1: 16*64 + 64*64 + 64*1 weights.
    EXPECT_EQ(work_per_row(model_kind::mlp, 16, 16 * 64 + 64 * 64 + 64, 0, 0), 5184);
    EXPECT_EQ(work_per_row(model_kind::gbdt, 16, 0, 100, complete_nodes(100, 6)), 700);
    EXPECT_EQ(work_per_row(model_kind::gbdt, 16, 0, 500, complete_nodes(500, 8)), 4500);
    EXPECT_EQ(work_per_row(model_kind::gbdt, 16, 0, 3, 3), 3); // stumps: one leaf each
    EXPECT_EQ(work_per_row(model_kind::gbdt, 16, 0, 0, 0), 0);
}

TEST(GpuWorth, LinearModelsStayOnTheCpuAtAnyWidth)
{
    for (int32_t f : {1, 16, 256, 10000}) {
        EXPECT_FALSE(worth_the_gpu(model_kind::linear, f, 0, 0, 0)) << f;
        EXPECT_FALSE(worth_the_gpu(model_kind::logistic, f, 0, 0, 0)) << f;
    }
}

TEST(GpuWorth, HeavyModelsGoLightOnesStay)
{
    // The models measured on the H200: both gained on the GPU.
    EXPECT_TRUE(worth_the_gpu(model_kind::mlp, 16, 16 * 64 + 64 * 64 + 64, 0, 0));
    EXPECT_TRUE(worth_the_gpu(model_kind::gbdt, 16, 0, 100, complete_nodes(100, 6)));
    // A tiny mlp (16-4-1) and a handful of shallow trees do less than 8 operations a feature.
    EXPECT_FALSE(worth_the_gpu(model_kind::mlp, 16, 16 * 4 + 4, 0, 0));
    EXPECT_FALSE(worth_the_gpu(model_kind::gbdt, 16, 0, 10, complete_nodes(10, 3)));
    // The same trees over fewer features are worth it: the copy is per feature.
    EXPECT_TRUE(worth_the_gpu(model_kind::gbdt, 4, 0, 10, complete_nodes(10, 3)));
    // The threshold itself: 8 operations per feature.
    EXPECT_TRUE(worth_the_gpu(model_kind::mlp, 10, 80, 0, 0));
    EXPECT_FALSE(worth_the_gpu(model_kind::mlp, 10, 79, 0, 0));
}
