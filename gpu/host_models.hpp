// Random models for the checks, their C ABI descriptions and a CPU twin of the module's
// pipeline. Pure C++ (no CUDA header): gpu/bench_check.cpp compares the GPU with these, and the
// unit tests drive run_pipeline with cpu_backend over the same formulas the kernels use.
#pragma once

#include "ai_scale_gpu.h"
#include "chunk_plan.hpp"
#include "scoring/model_math.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace ai_scale::gpu {

// A model owning its arrays.
struct host_model {
    std::string name;
    int32_t version = 1;
    uint64_t fingerprint = 0;
    scoring::model_kind kind = scoring::model_kind::linear;
    int32_t n_features = 0;
    int32_t n_outputs = 1;
    std::vector<float> weights; // linear
    float bias = 0;
    std::vector<int32_t> sizes, activations; // mlp
    std::vector<float> mlp_weights, mlp_biases;
    std::vector<int32_t> feature, left, tree_root; // gbdt
    std::vector<float> value;
    std::vector<uint8_t> default_left;
    float base_margin = 0;
    bool gbdt_logistic = false;

    scoring::linear_view linear_view() const
    {
        return {weights.data(), bias, n_features, kind == scoring::model_kind::logistic};
    }
    scoring::mlp_view mlp_view() const
    {
        return {int32_t(sizes.size()) - 1, sizes.data(), mlp_weights.data(), mlp_biases.data(),
                activations.data()};
    }
    scoring::gbdt_view gbdt_view() const
    {
        return {feature.data(),      value.data(),     left.data(),
                default_left.data(), tree_root.data(), int32_t(tree_root.size()),
                base_margin,         gbdt_logistic};
    }

    ai_scale_gpu_model abi() const
    {
        ai_scale_gpu_model m{};
        m.name = name.c_str();
        m.version = version;
        m.fingerprint = fingerprint;
        m.kind = int32_t(kind);
        m.n_features = n_features;
        m.n_outputs = n_outputs;
        m.linear_weights = weights.data();
        m.linear_bias = bias;
        m.mlp_layers = int32_t(sizes.size()) - 1;
        m.mlp_sizes = sizes.data();
        m.mlp_weights = mlp_weights.data();
        m.mlp_weights_len = int64_t(mlp_weights.size());
        m.mlp_biases = mlp_biases.data();
        m.mlp_biases_len = int64_t(mlp_biases.size());
        m.mlp_activations = activations.data();
        m.gbdt_nodes = int64_t(feature.size());
        m.gbdt_feature = feature.data();
        m.gbdt_value = value.data();
        m.gbdt_left = left.data();
        m.gbdt_default_left = default_left.data();
        m.gbdt_tree_root = tree_root.data();
        m.gbdt_trees = int32_t(tree_root.size());
        m.gbdt_base_margin = base_margin;
        m.gbdt_logistic = gbdt_logistic ? 1 : 0;
        return m;
    }

    // One row through the shared formulas.
    void score_row(const float* x, float* y) const
    {
        switch (kind) {
        case scoring::model_kind::linear:
        case scoring::model_kind::logistic:
            y[0] = scoring::linear_score(linear_view(), x);
            break;
        case scoring::model_kind::mlp:
            scoring::mlp_forward(mlp_view(), x, y);
            break;
        case scoring::model_kind::gbdt:
            y[0] = scoring::gbdt_score(gbdt_view(), x);
            break;
        }
    }

    // True when some split on this row's paths compares equal to its threshold: a tie, where
    // a comparison with <= instead of < would choose the other leaf (the check counts such
    // rows, to show they were exercised).
    bool gbdt_tie(const float* x) const
    {
        for (int32_t root : tree_root) {
            int32_t node = root;
            while (feature[size_t(node)] >= 0) {
                float v = x[feature[size_t(node)]];
                if (v == value[size_t(node)])
                    return true;
                bool go_left =
                    std::isnan(v) ? default_left[size_t(node)] != 0 : v < value[size_t(node)];
                node = left[size_t(node)] + (go_left ? 0 : 1);
            }
        }
        return false;
    }
};

inline host_model random_linear(std::mt19937_64& rng, int32_t f, bool logistic)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    host_model m;
    m.name = logistic ? "check_logistic" : "check_linear";
    m.kind = logistic ? scoring::model_kind::logistic : scoring::model_kind::linear;
    m.n_features = f;
    m.weights.resize(size_t(f));
    for (float& w : m.weights)
        w = u(rng);
    m.bias = u(rng);
    m.fingerprint = rng();
    return m;
}

// widths: hidden layer widths; the output layer has one unit with a sigmoid.
inline host_model random_mlp(std::mt19937_64& rng, int32_t f, const std::vector<int32_t>& hidden,
                             int32_t n_outputs = 1)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    host_model m;
    m.name = "check_mlp";
    m.kind = scoring::model_kind::mlp;
    m.n_features = f;
    m.n_outputs = n_outputs;
    m.sizes.push_back(f);
    for (int32_t h : hidden)
        m.sizes.push_back(h);
    m.sizes.push_back(n_outputs);
    for (size_t l = 0; l + 1 < m.sizes.size(); l++) {
        float scale = 1.0f / std::sqrt(float(m.sizes[l]));
        for (int64_t i = 0; i < int64_t(m.sizes[l]) * m.sizes[l + 1]; i++)
            m.mlp_weights.push_back(u(rng) * scale);
        for (int32_t o = 0; o < m.sizes[l + 1]; o++)
            m.mlp_biases.push_back(u(rng) * 0.1f);
        bool last = l + 2 == m.sizes.size();
        m.activations.push_back(
            int32_t(last ? scoring::activation::sigmoid
                         : (l % 2 == 0 ? scoring::activation::relu : scoring::activation::tanh)));
    }
    m.fingerprint = rng();
    return m;
}

// Full trees of the given depth, laid out breadth first per tree (children adjacent).
inline host_model random_gbdt(std::mt19937_64& rng, int32_t f, int32_t trees, int32_t depth,
                              bool logistic)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_int_distribution<int32_t> feat(0, f - 1);
    host_model m;
    m.name = "check_gbdt";
    m.kind = scoring::model_kind::gbdt;
    m.n_features = f;
    m.gbdt_logistic = logistic;
    m.base_margin = u(rng) * 0.5f;
    for (int32_t t = 0; t < trees; t++) {
        int32_t root = int32_t(m.feature.size());
        m.tree_root.push_back(root);
        int32_t nodes = (1 << (depth + 1)) - 1;
        for (int32_t i = 0; i < nodes; i++) {
            bool leaf = i >= (1 << depth) - 1;
            m.feature.push_back(leaf ? -1 : feat(rng));
            m.value.push_back(leaf ? u(rng) * 0.1f : u(rng) * 0.9f);
            m.left.push_back(leaf ? -1 : root + 2 * i + 1);
            m.default_left.push_back(uint8_t(rng() & 1));
        }
    }
    m.fingerprint = rng();
    return m;
}

// Uniform in [-1, 1), with a share of NaNs (missing features).
inline void random_rows(std::mt19937_64& rng, float* rows, int64_t n, double nan_share = 0)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_real_distribution<double> p(0.0, 1.0);
    for (int64_t i = 0; i < n; i++)
        rows[i] = (nan_share > 0 && p(rng) < nan_share) ? NAN : u(rng);
}

// run_pipeline's backend on the CPU: the same staging, launch and finish steps as the CUDA
// backend, with memcpy for the copies and the shared formulas for the kernel.
struct cpu_backend {
    const host_model& m;
    const float* rows; // null when fill produces them
    float* out;
    ai_scale_gpu_fill_fn fill = nullptr;
    void* fill_ctx = nullptr;
    std::vector<std::vector<float>> in_buf, out_buf; // per slot: "pinned" and "device" both

    cpu_backend(const host_model& model, const float* r, float* o, const chunk_plan& plan)
        : m(model), rows(r), out(o), in_buf(size_t(plan.streams)), out_buf(size_t(plan.streams))
    {
        for (auto& b : in_buf)
            b.resize(size_t(plan.chunk_rows * m.n_features));
        for (auto& b : out_buf)
            b.resize(size_t(plan.chunk_rows * m.n_outputs));
    }

    int stage(const chunk& c)
    {
        if (fill != nullptr)
            return fill(fill_ctx, c.first_row, c.rows, in_buf[size_t(c.slot)].data()) == 0
                       ? 0
                       : AI_SCALE_GPU_FILL_FAILED;
        std::memcpy(in_buf[size_t(c.slot)].data(), rows + c.first_row * m.n_features,
                    size_t(c.rows * m.n_features) * sizeof(float));
        return 0;
    }
    int launch(const chunk& c)
    {
        const float* x = in_buf[size_t(c.slot)].data();
        float* y = out_buf[size_t(c.slot)].data();
        for (int64_t r = 0; r < c.rows; r++)
            m.score_row(x + r * m.n_features, y + r * m.n_outputs);
        return 0;
    }
    int finish(const chunk& c)
    {
        std::memcpy(out + c.first_row * m.n_outputs, out_buf[size_t(c.slot)].data(),
                    size_t(c.rows * m.n_outputs) * sizeof(float));
        return 0;
    }
};

// Scores rows (or what fill produces, when rows is null) on the CPU through the module's chunk
// planner and pipeline.
inline int cpu_twin_score(const host_model& m, const float* rows, int64_t n, float* out,
                          int64_t free_device_bytes, const plan_limits& lim = {},
                          ai_scale_gpu_fill_fn fill = nullptr, void* fill_ctx = nullptr)
{
    chunk_plan plan =
        plan_chunks(n, int64_t(m.n_features) * 4, int64_t(m.n_outputs) * 4, free_device_bytes, lim);
    if (!plan.fits)
        return AI_SCALE_GPU_OUT_OF_MEMORY;
    cpu_backend b(m, rows, out, plan);
    b.fill = fill;
    b.fill_ctx = fill_ctx;
    return run_pipeline(b, plan, n);
}

// A fill callback over a row-major matrix, recording the order it was asked for rows in.
struct matrix_fill {
    const float* rows;
    int32_t n_features;
    int64_t next_row = 0;
    int64_t stop_at = -1; // first_row at which to abandon the batch
    bool in_order = true;

    static int call(void* ctx, int64_t first_row, int64_t n_rows, float* dst)
    {
        auto* self = static_cast<matrix_fill*>(ctx);
        if (first_row == self->stop_at)
            return 1;
        self->in_order = self->in_order && first_row == self->next_row;
        self->next_row = first_row + n_rows;
        std::memcpy(dst, self->rows + first_row * self->n_features,
                    size_t(n_rows * self->n_features) * sizeof(float));
        return 0;
    }
};

} // namespace ai_scale::gpu
