// The scoring kernels: one thread per row, over the formulas of src/scoring/model_math.hpp.
// A block first copies its rows into shared memory with coalesced loads (consecutive threads
// read consecutive floats), padded to an odd stride so threads reading "their" row do not
// collide on a bank; trees then look features up in shared memory, not scattered in global.
#pragma once

#include "scoring/model_math.hpp"

#include <cstdint>

namespace ai_scale::gpu {

constexpr int block_rows = 128;
// Rows of up to this many features are staged: block_rows * (f + 1) floats <= 48 KiB.
constexpr int max_staged_features = 48 * 1024 / (block_rows * 4) - 1;

struct linear_scorer {
    scoring::linear_view m;
    __device__ void operator()(const float* x, float* y) const
    {
        y[0] = scoring::linear_score(m, x);
    }
};

struct mlp_scorer {
    scoring::mlp_view m;
    __device__ void operator()(const float* x, float* y) const { scoring::mlp_forward(m, x, y); }
};

// The margin only: a logistic gbdt's sigmoid is taken on the host (finish_gbdt_on_host).
struct gbdt_scorer {
    scoring::gbdt_view m;
    __device__ void operator()(const float* x, float* y) const
    {
        y[0] = scoring::gbdt_margin(m, x);
    }
};

// After gbdt_scorer's kernel, on its n margins copied back to the host: a logistic gbdt's
// sigmoid, with the host's expf, so that its scores equal XGBoost's and the CPU path's bit for
// bit (CUDA's expf differs from glibc's in the last bit for some margins).
inline void finish_gbdt_on_host(bool logistic, float* out, int64_t n)
{
    if (logistic)
        for (int64_t i = 0; i < n; i++)
            out[i] = scoring::gbdt_link(true, out[i]);
}

template <typename Scorer>
__global__ void __launch_bounds__(block_rows)
    score_rows(Scorer s, const float* __restrict__ x, int64_t n, int32_t f, int32_t n_out,
               float* __restrict__ out, bool staged)
{
    extern __shared__ float tile[];
    int64_t first = int64_t(blockIdx.x) * block_rows;
    int rows = int(n - first < block_rows ? n - first : block_rows);
    int64_t row = first + threadIdx.x;
    const float* xr = x + row * f;
    if (staged) {
        int stride = f + 1;
        const float* src = x + first * f;
        int total = rows * f;
        for (int i = threadIdx.x; i < total; i += blockDim.x) {
            int r = i / f;
            tile[r * stride + (i - r * f)] = src[i];
        }
        __syncthreads();
        xr = tile + threadIdx.x * stride;
    }
    if (int(threadIdx.x) < rows)
        s(xr, out + row * n_out);
}

} // namespace ai_scale::gpu
