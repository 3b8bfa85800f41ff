// Which models are worth the GPU when ai_scale.gpu = auto. Through SQL the CPU extracts every
// row's features from jsonb first (about 2 µs a row for 16 features), then the GPU path copies
// them to the device and back; the GPU pays only when it saves more arithmetic than that costs.
// Measured on the H200 through score_batched (bench/RESULTS.md, "gpu"): linear and logistic
// models, one multiply-add per feature, ran at 0.88-1.20x the CPU path (no gain beyond noise), a
// 100-tree depth-6 gbdt at 1.56-1.66x, an mlp 16-64-64-1 at 3.4-3.9x. So auto sends a batch to
// the GPU only for a model that does at least gpu_min_work_per_feature operations per feature
// of a row. Pure C++, unit-tested.
#pragma once

#include "scoring/model_math.hpp"

#include <cmath>
#include <cstdint>

namespace ai_scale::scoring {

// An operation is a multiply-add (linear, mlp) or a tree node visited (gbdt). The GPU path's
// extra cost was about 0.1-0.2 µs a row at 16 features, and the CPU does an operation in 1-2 ns:
// the break-even is near 6 operations per feature; 8 keeps the GPU for models that gain.
constexpr int64_t gpu_min_work_per_feature = 8;

// Operations per row. mlp_weights: the total weights of the layers (one multiply-add each).
// gbdt: a walk visits about log2(nodes per tree + 1) nodes (exactly that in complete trees).
inline int64_t work_per_row(model_kind kind, int32_t n_features, int64_t mlp_weights,
                            int32_t gbdt_trees, int64_t gbdt_nodes)
{
    switch (kind) {
    case model_kind::linear:
    case model_kind::logistic:
        return n_features;
    case model_kind::mlp:
        return mlp_weights;
    case model_kind::gbdt:
        if (gbdt_trees <= 0)
            return 0;
        return int64_t(
            std::ceil(gbdt_trees * std::log2(double(gbdt_nodes) / double(gbdt_trees) + 1.0)));
    }
    return 0;
}

inline bool worth_the_gpu(model_kind kind, int32_t n_features, int64_t mlp_weights,
                          int32_t gbdt_trees, int64_t gbdt_nodes)
{
    int64_t features = n_features > 0 ? n_features : 1;
    return work_per_row(kind, n_features, mlp_weights, gbdt_trees, gbdt_nodes) >=
           gpu_min_work_per_feature * features;
}

} // namespace ai_scale::scoring
