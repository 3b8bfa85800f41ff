// Per-row model formulas shared by the CPU path (src/scoring) and the CUDA kernels (gpu/).
// Plain C++ with no Postgres or CUDA headers: under nvcc every function is __host__ __device__,
// so the unit tests on the CPU check the very code the GPU runs.
//
// Models are read through "views": flat arrays (structure of arrays) owned elsewhere, in host
// memory for the CPU path and in device memory for the kernels. Rows are float32, row-major,
// n_features wide; a missing feature is NaN.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define AI_SCALE_HD __host__ __device__ __forceinline__
#else
#define AI_SCALE_HD inline
#endif

namespace ai_scale::scoring {

enum class model_kind : int32_t { linear = 0, logistic = 1, mlp = 2, gbdt = 3 };
enum class activation : int32_t { identity = 0, relu = 1, tanh = 2, sigmoid = 3 };

// Whether a sum overflowed float (infinite, or NaN from inf - inf). Such a sum becomes NaN
// before any activation, and every scoring function refuses a NaN score: an activation would
// squash it into a finite, wrong score (sigmoid(inf) = 1 where the exact sum may be 0,
// tanh(-inf) = -1, relu(-inf) = 0, relu(NaN) = 0, xgboost_sigmoid(NaN) = 3.0e-39).
AI_SCALE_HD bool overflowed(float z)
{
    return !(fabsf(z) <= FLT_MAX);
}

// e^x and tanh for the activations, giving the same float on the CPU and in the CUDA kernels:
// CUDA's expf and tanhf are not glibc's, and differ from them in the last bit for some inputs.
// These compute in double with + - * / only, which both round correctly (and which the builds
// keep apart: no fused multiply-adds, -ffp-contract=off and nvcc -fmad=false), then round once
// to float. Before that rounding they are within about 1e-16 of the exact value, so the float
// is the correctly rounded one unless the exact value lies that close to a midpoint between
// two floats (none did in a sweep of 2.2 million floats; glibc's expf differed from the
// correctly rounded float in 180 of them, its tanhf in 117,851).
//
// e^x for |x| <= 210: x = k ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^13 (the
// rest is below 2e-17 of it), times 2^k built from its bits. ln2 is split in two so that k
// times the first part, which has 33 significant bits, is exact.
AI_SCALE_HD double exp_double(double x)
{
    const double k = floor(x * 0x1.71547652b82fep+0 + 0.5); // x / ln2, rounded
    const double r = (x - k * 0x1.62e42feep-1) - k * 0x1.a39ef35793c76p-33;
    double p = 0x1.6124613a86d09p-33; // 1/13!
    p = p * r + 0x1.1eed8eff8d898p-29;
    p = p * r + 0x1.ae64567f544e4p-26;
    p = p * r + 0x1.27e4fb7789f5cp-22;
    p = p * r + 0x1.71de3a556c734p-19;
    p = p * r + 0x1.a01a01a01a01ap-16;
    p = p * r + 0x1.a01a01a01a01ap-13;
    p = p * r + 0x1.6c16c16c16c17p-10;
    p = p * r + 0x1.1111111111111p-7;
    p = p * r + 0x1.5555555555555p-5;
    p = p * r + 0x1.5555555555555p-3;
    p = p * r + 0x1p-1;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const uint64_t bits = uint64_t(int64_t(k) + 1023) << 52;
    double two_to_k;
    memcpy(&two_to_k, &bits, sizeof two_to_k);
    return p * two_to_k;
}

AI_SCALE_HD float same_expf(float x)
{
    if (!(x > -104.0f)) // e^-104 is below half the least float; NaN stays NaN
        return x != x ? x : 0.0f;
    if (x > 89.0f) // e^89 is past the largest float
        return INFINITY;
    return float(exp_double(double(x)));
}

AI_SCALE_HD float same_tanhf(float z)
{
    const double a = fabs(double(z));
    double t;
    if (!(a < 10.0)) { // tanh(10) is within 5e-9 of 1, so 1 as a float; NaN stays NaN
        t = a != a ? a : 1.0;
    } else if (a < 0x1p-8) { // the series, where e^2a - 1 would cancel
        const double a2 = a * a;
        t = a + a * a2 *
                    (-0x1.5555555555555p-2 + // -1/3, 2/15, -17/315, 62/2835
                     a2 * (0x1.1111111111111p-3 +
                           a2 * (-0x1.ba1ba1ba1ba1cp-5 + a2 * 0x1.664f4882c10fap-6)));
    } else {
        const double e = exp_double(2.0 * a);
        t = (e - 1.0) / (e + 1.0);
    }
    return float(copysign(t, double(z)));
}

AI_SCALE_HD float sigmoid(float z)
{
    return 1.0f / (1.0f + same_expf(-z));
}

AI_SCALE_HD float activate(activation a, float z)
{
    switch (a) {
    case activation::relu:
        return z > 0.0f ? z : 0.0f;
    case activation::tanh:
        return same_tanhf(z);
    case activation::sigmoid:
        return sigmoid(z);
    case activation::identity:
    default:
        return z;
    }
}

// linear: bias + w.x ; logistic: sigmoid(bias + w.x).
struct linear_view {
    const float* weights; // n_features
    float bias;
    int32_t n_features;
    bool logistic;
};

AI_SCALE_HD float linear_margin(const linear_view& m, const float* x)
{
    float z = m.bias;
    for (int32_t f = 0; f < m.n_features; f++)
        z += m.weights[f] * x[f];
    return z;
}

AI_SCALE_HD float linear_score(const linear_view& m, const float* x)
{
    float z = linear_margin(m, x);
    return m.logistic ? (overflowed(z) ? NAN : sigmoid(z)) : z;
}

// Dense layers: layer l maps sizes[l] inputs to sizes[l + 1] outputs with a row-major
// (out x in) weight block, a bias per output and an activation.
constexpr int32_t mlp_max_width = 256;

struct mlp_view {
    int32_t n_layers;
    const int32_t* sizes;       // n_layers + 1; sizes[0] = n_features
    const float* weights;       // concatenated blocks, layer by layer
    const float* biases;        // concatenated, layer by layer
    const int32_t* activations; // n_layers, values of enum activation
};

// Writes sizes[n_layers] outputs. Every width must be <= mlp_max_width (checked when the model
// is compiled, never here).
AI_SCALE_HD void mlp_forward(const mlp_view& m, const float* x, float* out)
{
    float a[mlp_max_width];
    float b[mlp_max_width];
    const float* in = x;
    const float* w = m.weights;
    const float* bias = m.biases;
    for (int32_t l = 0; l < m.n_layers; l++) {
        int32_t n_in = m.sizes[l];
        int32_t n_out = m.sizes[l + 1];
        float* dst = (l == m.n_layers - 1) ? out : ((l % 2 == 0) ? a : b);
        for (int32_t o = 0; o < n_out; o++) {
            float z = bias[o];
            const float* row = w + int64_t(o) * n_in;
            for (int32_t i = 0; i < n_in; i++)
                z += row[i] * in[i];
            dst[o] = overflowed(z) ? NAN : activate(activation(m.activations[l]), z);
        }
        w += int64_t(n_in) * n_out;
        bias += n_out;
        in = dst;
    }
}

// Tree ensembles (XGBoost semantics). Nodes of all trees in one set of arrays; each tree's
// nodes are laid out breadth first with siblings adjacent, so a node's right child is
// left[node] + 1. A leaf has feature < 0 and keeps its value in `value`.
// At a split: go left when x[feature] < value, and follow default_left when x is NaN.
struct gbdt_view {
    const int32_t* feature;
    const float* value; // split threshold, or leaf value
    const int32_t* left;
    const uint8_t* default_left;
    const int32_t* tree_root; // first node of each tree
    int32_t n_trees;
    float base_margin; // added once; for binary:logistic this is logit(base_score)
    bool logistic;     // binary:logistic -> sigmoid(margin); reg:squarederror -> margin
};

AI_SCALE_HD float gbdt_tree_leaf(const gbdt_view& m, int32_t tree, const float* x)
{
    int32_t node = m.tree_root[tree];
    while (m.feature[node] >= 0) {
        float v = x[m.feature[node]];
        bool go_left = (v != v) ? (m.default_left[node] != 0) : (v < m.value[node]);
        node = m.left[node] + (go_left ? 0 : 1);
    }
    return m.value[node];
}

// In XGBoost's order: the base margin first, then each tree's leaf, in float, so the sums
// round as XGBoost's do.
AI_SCALE_HD float gbdt_margin(const gbdt_view& m, const float* x)
{
    float sum = m.base_margin;
    for (int32_t t = 0; t < m.n_trees; t++)
        sum += gbdt_tree_leaf(m, t, x);
    return sum;
}

// XGBoost's sigmoid for its logistic objectives (common::Sigmoid): the exponent is capped at
// 88.7 so that expf cannot overflow, so a margin below -88.7 scores 1 / (1 + e^88.7), about
// 3.0e-39, where 1 / (1 + expf(-z)) would give 0. With glibc's expf, as XGBoost computes it on
// the CPU, not same_expf: so the GPU module takes this step on the host (gbdt_link), after its
// kernel has summed the margins.
inline float xgboost_sigmoid(float z)
{
    return 1.0f / (expf(fminf(-z, 88.7f)) + 1.0f);
}

// What a gbdt's score is of its margin z.
inline float gbdt_link(bool logistic, float z)
{
    return logistic ? (overflowed(z) ? NAN : xgboost_sigmoid(z)) : z;
}

inline float gbdt_score(const gbdt_view& m, const float* x)
{
    return gbdt_link(m.logistic, gbdt_margin(m, x));
}

} // namespace ai_scale::scoring
