// The scoring kernel of gpu/kernels.cuh compiled as plain C++ and run on the CPU: each block's
// block_rows threads are real threads, so the staging loop and __syncthreads() work as on the
// device; blocks run one after another. This checks the kernel's own indexing (a last block cut
// short, rows staged into shared memory at an odd stride, rows too wide to stage, several
// outputs per row) against the shared formulas row by row. That the device computes the
// formulas as the CPU does is for gpu/check.sh on a GPU.
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace kernel_emulation {

// A reusable barrier for the threads of one block.
class block_barrier {
  public:
    explicit block_barrier(int threads) : threads_(threads) {}
    void wait()
    {
        std::unique_lock<std::mutex> hold(mutex_);
        const uint64_t phase = phase_;
        if (++waiting_ == threads_) {
            waiting_ = 0;
            phase_++;
            arrived_.notify_all();
        } else {
            arrived_.wait(hold, [&] { return phase_ != phase; });
        }
    }

  private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    int threads_;
    int waiting_ = 0;
    uint64_t phase_ = 0;
};

block_barrier* current_block = nullptr;

struct dim {
    unsigned x = 0;
};

} // namespace kernel_emulation

// What nvcc provides, for the kernel's source as the host compiler reads it.
#define __global__
#define __device__
#define __shared__
#define __launch_bounds__(...)
#define __syncthreads() kernel_emulation::current_block->wait()
thread_local kernel_emulation::dim threadIdx, blockIdx;
kernel_emulation::dim blockDim;

namespace ai_scale::gpu {
// The block's shared memory (the kernel's `extern __shared__ float tile[]`): 48 KiB.
float tile[48 * 1024 / sizeof(float)];
} // namespace ai_scale::gpu

#include "host_models.hpp"
#include "kernels.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

using namespace ai_scale::gpu;

namespace {

// score_rows<<<blocks, block_rows, shared>>>, as gpu/score.cu launches it.
template <typename Scorer>
void launch(Scorer s, const float* x, int64_t n, int32_t f, int32_t n_out, float* out)
{
    const bool staged = f <= max_staged_features;
    blockDim.x = block_rows;
    for (int64_t b = 0; b * block_rows < n; b++) {
        // Poison: a row read from shared memory that the block did not stage scores NaN.
        std::fill(std::begin(tile), std::end(tile), std::numeric_limits<float>::quiet_NaN());
        kernel_emulation::block_barrier barrier(block_rows);
        kernel_emulation::current_block = &barrier;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < unsigned(block_rows); t++)
            threads.emplace_back([&, t] {
                threadIdx.x = t;
                blockIdx.x = unsigned(b);
                score_rows(s, x, n, f, n_out, out, staged);
            });
        for (auto& t : threads)
            t.join();
    }
}

void launch_model(const host_model& m, const float* x, int64_t n, float* out)
{
    switch (m.kind) {
    case ai_scale::scoring::model_kind::linear:
    case ai_scale::scoring::model_kind::logistic:
        launch(linear_scorer{m.linear_view()}, x, n, m.n_features, m.n_outputs, out);
        break;
    case ai_scale::scoring::model_kind::mlp:
        launch(mlp_scorer{m.mlp_view()}, x, n, m.n_features, m.n_outputs, out);
        break;
    case ai_scale::scoring::model_kind::gbdt:
        launch(gbdt_scorer{m.gbdt_view()}, x, n, m.n_features, m.n_outputs, out);
        finish_gbdt_on_host(m.gbdt_logistic, out, n); // as gpu/score.cu does after the copy
        break;
    }
}

constexpr float guard = -12345.0f; // written past the outputs; the kernel must leave it

// Runs the kernel over n random rows (with a share of NaNs) and compares every output with
// the model's formulas on the same row. The input is followed by NaNs and the output by a
// guard, so a read past the rows changes a score and a write past the outputs shows.
void expect_kernel_matches_formulas(const host_model& m, int64_t n, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    const int64_t f = m.n_features, k = m.n_outputs;
    std::vector<float> x(size_t((n + block_rows) * f), std::numeric_limits<float>::quiet_NaN());
    random_rows(rng, x.data(), n * f, 0.05);
    std::vector<float> out(size_t((n + block_rows) * k), guard);
    launch_model(m, x.data(), n, out.data());

    std::vector<float> want(static_cast<size_t>(k));
    int64_t mismatches = 0;
    for (int64_t r = 0; r < n; r++) {
        m.score_row(x.data() + r * f, want.data());
        for (int64_t o = 0; o < k; o++)
            if (std::memcmp(&want[size_t(o)], &out[size_t(r * k + o)], sizeof(float)) != 0 &&
                mismatches++ < 5)
                ADD_FAILURE() << m.name << ", " << n << " rows of " << f << " features: row " << r
                              << " output " << o << " is " << out[size_t(r * k + o)]
                              << ", the formulas give " << want[size_t(o)];
    }
    EXPECT_EQ(mismatches, 0);
    for (size_t i = size_t(n * k); i < out.size(); i++)
        ASSERT_EQ(out[i], guard) << "written past the last output, at " << i;
}

// Row counts around the block size: one row, a block short by one, one block, one row over,
// and several blocks with the last one partial.
const int64_t row_counts[] = {1, block_rows - 1, block_rows, block_rows + 1, 3 * block_rows + 45};

} // namespace

TEST(GpuKernelOnHost, WidestStagedRowsFitTheSharedMemory)
{
    // What gpu/score.cu asks for when it stages, against the 48 KiB a block may have.
    EXPECT_LE(size_t(block_rows) * size_t(max_staged_features + 1) * sizeof(float), sizeof(tile));
    EXPECT_GT(size_t(block_rows) * size_t(max_staged_features + 2) * sizeof(float), sizeof(tile));
}

TEST(GpuKernelOnHost, LinearAndLogisticMatchTheFormulas)
{
    std::mt19937_64 rng(11);
    // Staged (1, 16, the widest staged) and not staged (one feature more).
    for (int32_t f : {1, 16, max_staged_features, max_staged_features + 1})
        for (bool logistic : {false, true}) {
            host_model m = random_linear(rng, f, logistic);
            for (int64_t n : row_counts)
                expect_kernel_matches_formulas(m, n, rng());
        }
}

TEST(GpuKernelOnHost, MlpMatchesTheFormulasWithSeveralOutputs)
{
    std::mt19937_64 rng(12);
    for (int32_t f : {3, max_staged_features + 1})
        for (int32_t outputs : {1, 3}) {
            host_model m = random_mlp(rng, f, {16, 8}, outputs);
            for (int64_t n : row_counts)
                expect_kernel_matches_formulas(m, n, rng());
        }
}

TEST(GpuKernelOnHost, GbdtMatchesTheFormulas)
{
    std::mt19937_64 rng(13);
    for (int32_t f : {8, max_staged_features, 2 * max_staged_features})
        for (bool logistic : {false, true}) {
            host_model m = random_gbdt(rng, f, 20, 5, logistic);
            for (int64_t n : row_counts)
                expect_kernel_matches_formulas(m, n, rng());
        }
}
