// A registered model compiled into the compact form the scoring paths read: flat arrays behind
// the views of model_math.hpp. Compiling validates the parameters completely, so a model that
// compiles can be scored without further checks. Pure C++ (no Postgres headers).
#pragma once

#include "scoring/json.hpp"
#include "scoring/model_math.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ai_scale::scoring {

// Parameters that do not describe a valid model. The SQL layer reports it as 22023.
class model_error : public std::runtime_error {
  public:
    model_error(std::string message, std::string detail = {})
        : std::runtime_error(std::move(message)), detail(std::move(detail))
    {}
    std::string detail;
};

// Limits that keep a model (and the memory a backend spends on it) sane.
constexpr int32_t max_features = 10000;
constexpr int32_t max_mlp_layers = 64;
constexpr int64_t max_gbdt_nodes = 64 * 1024 * 1024;

// FNV-1a over n bytes from h, fnv_basis to begin: a model's fingerprint, which keys its copy on
// the GPU (gpu_offload.hpp).
constexpr uint64_t fnv_basis = 14695981039346656037ull;
uint64_t fnv(uint64_t h, const void* data, size_t n);

struct compiled_model {
    model_kind kind = model_kind::linear;
    std::vector<std::string> features; // in the order the params use
    int32_t n_outputs = 1;
    // Per-feature value used when the input lacks the feature; NaN = no default (an error,
    // except for gbdt where NaN takes the default branch).
    std::vector<float> defaults;
    bool missing_is_nan = false; // gbdt

    // linear / logistic
    std::vector<float> weights;
    float bias = 0;

    // mlp
    std::vector<int32_t> sizes;
    std::vector<float> mlp_weights;
    std::vector<float> mlp_biases;
    std::vector<int32_t> activations;

    // gbdt
    std::vector<int32_t> node_feature;
    std::vector<float> node_value;
    std::vector<int32_t> node_left;
    std::vector<uint8_t> node_default_left;
    std::vector<int32_t> tree_root;
    float base_margin = 0;
    bool gbdt_logistic = false;
    // The CPU's copy of the trees: one 16-byte node per cache access, leaves pointing at
    // themselves, so a block of rows walks a tree level by level without branches
    // (see score_rows). Same results as gbdt_score over the views above.
    struct cpu_node {
        uint32_t feature; // low 31 bits: feature; high bit: missing goes right
        float threshold;  // NaN at a leaf, so no row ever leaves it
        int32_t left;     // right child is left + 1; a leaf's left is itself
        float leaf;
    };
    std::vector<cpu_node> cpu_nodes;
    std::vector<int32_t> tree_depth; // levels below the root of each tree

    uint64_t fingerprint = 0; // hash of everything above (fnv)

    linear_view linear() const;
    mlp_view mlp() const;
    gbdt_view gbdt() const;

    // Scores n rows (row-major, features.size() floats each) into out (n * n_outputs).
    void score_rows(const float* rows, int64_t n, float* out) const;

    // How many rows score_rows is given at a time where a cancel is looked for between calls:
    // about work_between_checks multiply-adds or tree levels, 1 to 1024 rows (for gbdt a
    // multiple of 64, 64 at least). A fixed 1024 rows of the largest mlp (64 layers of 256)
    // took 2 s, 23 s with subnormal activations, before a statement_timeout landed.
    static constexpr int64_t work_between_checks = int64_t(1) << 22;
    int64_t rows_between_checks() const;

    // The heap this model holds (its arrays and names), for the bound on a backend's
    // compiled models (catalog.cpp).
    size_t memory_bytes() const;
};

model_kind parse_kind(const std::string& kind); // throws model_error
const char* kind_name(model_kind kind);

// Validates and compiles. features are the model's input names (unique, non-empty).
compiled_model compile_model(model_kind kind, const std::vector<std::string>& features,
                             const json::value& params);

} // namespace ai_scale::scoring
