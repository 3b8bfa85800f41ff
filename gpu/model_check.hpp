// Checks a model handed to ai_scale_gpu.so before it reaches the device: a bad index in a
// kernel would be an illegal address, which poisons the CUDA context for the whole process.
// Pure C++ (unit-tested in test/unit/test_gpu_pipeline.cpp).
#pragma once

#include "ai_scale_gpu.h"
#include "scoring/model_math.hpp"

#include <cstdint>

namespace ai_scale::gpu {

// nullptr when the model is well formed, else what is wrong with it.
inline const char* check_model(const ai_scale_gpu_model& m)
{
    if (m.name == nullptr)
        return "model has no name";
    if (m.n_features < 1 || m.n_features > (1 << 20))
        return "n_features must be between 1 and 1048576";
    if (m.n_outputs < 1)
        return "n_outputs must be at least 1";
    switch (m.kind) {
    case AI_SCALE_GPU_LINEAR:
    case AI_SCALE_GPU_LOGISTIC:
        if (m.linear_weights == nullptr)
            return "linear model without weights";
        if (m.n_outputs != 1)
            return "linear model must have one output";
        return nullptr;
    case AI_SCALE_GPU_MLP: {
        if (m.mlp_layers < 1 || m.mlp_layers > 64)
            return "mlp must have between 1 and 64 layers";
        if (m.mlp_sizes == nullptr || m.mlp_weights == nullptr || m.mlp_biases == nullptr ||
            m.mlp_activations == nullptr)
            return "mlp with a missing array";
        if (m.mlp_sizes[0] != m.n_features)
            return "mlp input width differs from n_features";
        if (m.mlp_sizes[m.mlp_layers] != m.n_outputs)
            return "mlp output width differs from n_outputs";
        int64_t weights = 0, biases = 0;
        for (int32_t l = 0; l < m.mlp_layers; l++) {
            int32_t in = m.mlp_sizes[l], out = m.mlp_sizes[l + 1];
            if (out < 1 || out > scoring::mlp_max_width || in < 1 ||
                (l > 0 && in > scoring::mlp_max_width))
                return "mlp layer width out of range (1 to 256)";
            if (m.mlp_activations[l] < 0 || m.mlp_activations[l] > 3)
                return "mlp activation out of range";
            weights += int64_t(in) * out;
            biases += out;
        }
        if (weights != m.mlp_weights_len || biases != m.mlp_biases_len)
            return "mlp weight or bias count does not match the layer sizes";
        return nullptr;
    }
    case AI_SCALE_GPU_GBDT: {
        if (m.gbdt_nodes < 1 || m.gbdt_nodes > INT32_MAX - 1 || m.gbdt_trees < 1)
            return "gbdt needs at least one tree and one node";
        if (m.gbdt_feature == nullptr || m.gbdt_value == nullptr || m.gbdt_left == nullptr ||
            m.gbdt_default_left == nullptr || m.gbdt_tree_root == nullptr)
            return "gbdt with a missing array";
        if (m.n_outputs != 1)
            return "gbdt must have one output";
        for (int32_t t = 0; t < m.gbdt_trees; t++)
            if (m.gbdt_tree_root[t] < 0 || m.gbdt_tree_root[t] >= m.gbdt_nodes)
                return "gbdt tree root out of range";
        for (int64_t n = 0; n < m.gbdt_nodes; n++) {
            if (m.gbdt_feature[n] < 0)
                continue;
            if (m.gbdt_feature[n] >= m.n_features)
                return "gbdt split on a feature out of range";
            // Children after their parent: every walk moves forward, so it ends.
            if (m.gbdt_left[n] <= n || int64_t(m.gbdt_left[n]) + 1 >= m.gbdt_nodes)
                return "gbdt child index out of range (children must follow their parent)";
        }
        return nullptr;
    }
    default:
        return "unknown model kind";
    }
}

} // namespace ai_scale::gpu
