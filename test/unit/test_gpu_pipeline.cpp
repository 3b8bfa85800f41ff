// The host side of the GPU module compiled as plain C++: the chunk planner, the pipeline the
// CUDA backend runs (driven here by a CPU backend over the shared formulas), and the model
// checks that keep bad indices off the device.
#include "chunk_plan.hpp"
#include "host_models.hpp"
#include "model_check.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>

using namespace ai_scale::gpu;
using ai_scale::scoring::model_kind;

namespace {

constexpr int64_t GiB = int64_t(1) << 30;

void expect_covers(const chunk_plan& p, int64_t n)
{
    ASSERT_TRUE(p.fits);
    EXPECT_GE(p.chunk_rows * p.chunks, n);
    EXPECT_LT(p.chunk_rows * (p.chunks - 1), n); // no empty chunk
    EXPECT_GE(p.streams, 1);
    EXPECT_LE(p.streams, p.chunks);
}

} // namespace

TEST(GpuChunkPlan, SmallBatchIsOneChunkOnOneStream)
{
    chunk_plan p = plan_chunks(1000, 64, 4, 80 * GiB);
    expect_covers(p, 1000);
    EXPECT_EQ(p.chunks, 1);
    EXPECT_EQ(p.streams, 1);
    EXPECT_EQ(p.chunk_rows, 1000);
}

TEST(GpuChunkPlan, LargeBatchUsesTargetSizedChunksOverSeveralStreams)
{
    plan_limits lim;
    int64_t n = 100000000; // 100M rows of 16 floats
    chunk_plan p = plan_chunks(n, 64, 4, 80 * GiB, lim);
    expect_covers(p, n);
    EXPECT_EQ(p.chunk_rows, lim.target_chunk_bytes / 64);
    EXPECT_EQ(p.streams, lim.max_streams);
    EXPECT_GE(p.streams, 2); // copies of one chunk overlap the kernel of another
}

TEST(GpuChunkPlan, ChunkSizeFollowsFreeMemory)
{
    plan_limits lim;
    int64_t n = 10000000, row_in = 64, row_out = 4;
    int64_t free_bytes = 64 << 20; // 64 MiB free: half of it for 3 slots
    chunk_plan p = plan_chunks(n, row_in, row_out, free_bytes, lim);
    expect_covers(p, n);
    EXPECT_LE(p.streams * p.chunk_rows * (row_in + row_out),
              int64_t(free_bytes * lim.device_share));
    EXPECT_LT(p.chunk_rows, lim.target_chunk_bytes / row_in);
}

TEST(GpuChunkPlan, RefusesWhenNotEvenTheSmallestChunkFits)
{
    EXPECT_FALSE(plan_chunks(1000000, 64, 4, 100000).fits);
    EXPECT_FALSE(plan_chunks(0, 64, 4, GiB).fits);
    EXPECT_FALSE(plan_chunks(10, 0, 4, GiB).fits);
    // A batch smaller than min_chunk_rows only needs room for itself.
    EXPECT_TRUE(plan_chunks(10, 64, 4, 10 * 68 * 2).fits);
}

TEST(GpuChunkPlan, PicksTheDeviceWithTheMostFreeMemory)
{
    EXPECT_EQ(pick_device({}), -1);
    EXPECT_EQ(pick_device({5}), 0);
    EXPECT_EQ(pick_device({5, 9, 7}), 1);
    EXPECT_EQ(pick_device({9, 9, 7}), 0);
    // Only among the devices that can run the module.
    EXPECT_EQ(pick_device({5, 9, 7}, {true, false, true}), 2);
    EXPECT_EQ(pick_device({5, 9}, {false, false}), -1);
}

namespace {

// A backend that records the order of calls, to check the pipeline's overlap discipline.
struct trace_backend {
    std::vector<std::string> log;
    std::vector<int> slot_busy;
    int64_t fail_stage_at = -1;
    int64_t rows_done = 0;
    explicit trace_backend(int streams) : slot_busy(size_t(streams), -1) {}
    int stage(const chunk& c)
    {
        // A slot's buffers are refilled only after its previous chunk was finished.
        EXPECT_EQ(slot_busy[size_t(c.slot)], -1) << "chunk " << c.index;
        log.push_back("stage " + std::to_string(c.index));
        return c.index == fail_stage_at ? -3 : 0;
    }
    int launch(const chunk& c)
    {
        slot_busy[size_t(c.slot)] = int(c.index);
        log.push_back("launch " + std::to_string(c.index));
        return 0;
    }
    int finish(const chunk& c)
    {
        EXPECT_EQ(slot_busy[size_t(c.slot)], int(c.index));
        slot_busy[size_t(c.slot)] = -1;
        rows_done += c.rows;
        log.push_back("finish " + std::to_string(c.index));
        return 0;
    }
};

} // namespace

TEST(GpuPipeline, StagesTheNextChunkBeforeWaitingForTheCurrentOne)
{
    chunk_plan p{10, 4, 2, true};
    trace_backend b(2);
    ASSERT_EQ(run_pipeline(b, p, 35), 0);
    std::vector<std::string> want = {"stage 0",  "launch 0", "stage 1",  "launch 1",
                                     "finish 0", "stage 2",  "launch 2", "finish 1",
                                     "stage 3",  "launch 3", "finish 2", "finish 3"};
    EXPECT_EQ(b.log, want);
    EXPECT_EQ(b.rows_done, 35);
}

TEST(GpuPipeline, AFailureStopsLaunchingButWaitsForWhatIsInFlight)
{
    chunk_plan p{10, 6, 3, true};
    trace_backend b(3);
    b.fail_stage_at = 4;
    EXPECT_EQ(run_pipeline(b, p, 60), -3);
    for (int s : b.slot_busy)
        EXPECT_EQ(s, -1); // nothing left on a device stream
    EXPECT_EQ(std::count(b.log.begin(), b.log.end(), "launch 4"), 0);
    EXPECT_EQ(std::count(b.log.begin(), b.log.end(), "finish 3"), 1);
}

namespace {

void twin_matches_formulas(const host_model& m, int64_t n, const plan_limits& lim, double nan_share)
{
    std::mt19937_64 rng(n * 7 + m.n_features);
    std::vector<float> rows(size_t(n * m.n_features));
    random_rows(rng, rows.data(), int64_t(rows.size()), nan_share);
    std::vector<float> out(size_t(n * m.n_outputs));
    const uint32_t poison = 0x7fbadbad;
    for (float& o : out)
        std::memcpy(&o, &poison, 4);
    ASSERT_EQ(cpu_twin_score(m, rows.data(), n, out.data(), GiB, lim), 0);
    std::vector<float> want(size_t(m.n_outputs));
    for (int64_t i = 0; i < n; i++) {
        m.score_row(&rows[size_t(i * m.n_features)], want.data());
        for (int32_t o = 0; o < m.n_outputs; o++) {
            float got = out[size_t(i * m.n_outputs + o)];
            uint32_t bits;
            std::memcpy(&bits, &got, 4);
            ASSERT_NE(bits, poison) << "row " << i << " never written";
            ASSERT_EQ(got, want[size_t(o)]) << "row " << i << " output " << o;
        }
    }
}

} // namespace

TEST(GpuPipeline, CpuTwinScoresEveryRowOnceForEveryKind)
{
    std::mt19937_64 rng(42);
    plan_limits lim;
    lim.min_chunk_rows = 1;
    std::vector<host_model> models = {
        random_linear(rng, 16, false),      random_linear(rng, 7, true),
        random_mlp(rng, 16, {64, 32}),      random_mlp(rng, 5, {256, 3}, 4),
        random_gbdt(rng, 16, 50, 6, false), random_gbdt(rng, 9, 20, 4, true)};
    for (const host_model& m : models) {
        SCOPED_TRACE(m.name);
        for (int64_t chunk_rows : {1, 7, 128, 1000}) {
            lim.target_chunk_bytes = chunk_rows * m.n_features * 4;
            for (int streams : {1, 2, 3}) {
                lim.max_streams = streams;
                for (int64_t n : {int64_t(1), chunk_rows, chunk_rows + 1, int64_t(3001)})
                    twin_matches_formulas(m, n, lim, m.kind == model_kind::gbdt ? 0.1 : 0.0);
            }
        }
    }
}

TEST(GpuPipeline, FillCallbackProducesRowsInOrderChunkByChunk)
{
    std::mt19937_64 rng(7);
    host_model m = random_gbdt(rng, 6, 10, 3, true);
    int64_t n = 10007;
    std::vector<float> rows(static_cast<size_t>(n * m.n_features)), out(static_cast<size_t>(n)),
        want(static_cast<size_t>(n));
    random_rows(rng, rows.data(), int64_t(rows.size()), 0.05);
    plan_limits lim;
    lim.min_chunk_rows = 1;
    lim.target_chunk_bytes = 1000 * m.n_features * 4;
    matrix_fill src{rows.data(), m.n_features};
    ASSERT_EQ(cpu_twin_score(m, nullptr, n, out.data(), GiB, lim, &matrix_fill::call, &src), 0);
    EXPECT_TRUE(src.in_order);
    EXPECT_EQ(src.next_row, n);
    for (int64_t i = 0; i < n; i++) {
        m.score_row(&rows[size_t(i * m.n_features)], &want[size_t(i)]);
        ASSERT_EQ(out[size_t(i)], want[size_t(i)]) << i;
    }

    // A callback that gives up stops the batch: nothing after it is launched.
    matrix_fill stopping{rows.data(), m.n_features};
    stopping.stop_at = 3000;
    EXPECT_EQ(cpu_twin_score(m, nullptr, n, out.data(), GiB, lim, &matrix_fill::call, &stopping),
              AI_SCALE_GPU_FILL_FAILED);
    EXPECT_EQ(stopping.next_row, 3000);
}

TEST(GpuPipeline, GbdtTieDetection)
{
    std::mt19937_64 rng(1);
    host_model m = random_gbdt(rng, 3, 1, 1, false);
    std::vector<float> x = {0.0f, 0.0f, 0.0f};
    x[size_t(m.feature[0])] = m.value[0];
    EXPECT_TRUE(m.gbdt_tie(x.data()));
    x[size_t(m.feature[0])] = m.value[0] + 0.5f;
    EXPECT_FALSE(m.gbdt_tie(x.data()));
}

TEST(GpuModelCheck, AcceptsWellFormedModels)
{
    std::mt19937_64 rng(3);
    for (const host_model& m : {random_linear(rng, 4, true), random_mlp(rng, 4, {8}, 2),
                                random_gbdt(rng, 4, 3, 3, false)}) {
        ai_scale_gpu_model a = m.abi();
        EXPECT_EQ(check_model(a), nullptr) << check_model(a);
    }
}

TEST(GpuModelCheck, RefusesWhatWouldReadOutOfBoundsOnTheDevice)
{
    std::mt19937_64 rng(4);
    auto expect_refused = [](host_model m, const char* what) {
        ai_scale_gpu_model a = m.abi();
        const char* why = check_model(a);
        ASSERT_NE(why, nullptr) << what;
        EXPECT_NE(std::string(why).find(what), std::string::npos) << why;
    };
    host_model g = random_gbdt(rng, 4, 2, 2, false);
    {
        host_model m = g;
        m.left[0] = 0; // a cycle
        expect_refused(m, "child index");
    }
    {
        host_model m = g;
        m.left[1] = int32_t(m.feature.size()) - 1; // right child past the end
        expect_refused(m, "child index");
    }
    {
        host_model m = g;
        m.feature[0] = 4;
        expect_refused(m, "feature out of range");
    }
    {
        host_model m = g;
        m.tree_root[1] = int32_t(m.feature.size());
        expect_refused(m, "tree root");
    }
    host_model p = random_mlp(rng, 4, {8});
    {
        host_model m = p;
        m.mlp_weights.pop_back();
        expect_refused(m, "weight or bias count");
    }
    {
        host_model m = p;
        m.sizes[1] = 300;
        expect_refused(m, "width out of range");
    }
    {
        host_model m = p;
        m.n_features = 5;
        expect_refused(m, "input width");
    }
    {
        host_model m = random_linear(rng, 4, false);
        m.kind = model_kind(7);
        expect_refused(m, "unknown model kind");
    }
}
