// The seam between the CPU scoring path and the GPU module: scoring code hands a batch of
// extracted rows here; it is scored on the GPU when the module, a device and the settings
// allow, and the caller falls back to the CPU path when score() returns false.
#pragma once

#include "scoring/model_math.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ai_scale::scoring::gpu_offload {

// A compiled model as the GPU module needs it: identity (for its device-side cache) and host
// views of the arrays, with their lengths so they can be copied.
struct model_ref {
    const char* name;
    int32_t version;
    uint64_t fingerprint; // changes whenever the model's parameters change
    model_kind kind;
    int32_t n_features;
    int32_t n_outputs;
    linear_view linear; // linear, logistic
    mlp_view mlp;       // mlp
    int64_t mlp_weights_len;
    int64_t mlp_biases_len;
    gbdt_view gbdt; // gbdt
    int64_t gbdt_nodes;
};

// Scores n_rows row-major float32 rows of model.n_features into out (n_rows * n_outputs
// floats). Returns true when the GPU did it; false means "use the CPU path" (GPU off, batch
// below ai_scale.gpu_min_batch, module or device missing, or a failure under gpu = auto).
// Raises a pg::error when ai_scale.gpu = on and the GPU cannot do it.
bool score(const model_ref& model, const float* rows, int64_t n_rows, float* out);

// The same, with extraction overlapped with the GPU: extract(ctx, first_row, n, dst) writes
// rows [first_row, first_row + n) into dst and returns true, or false to abandon the batch. It
// is called in row order while the GPU copies and scores the previous chunk. It must not throw
// or raise a Postgres ERROR (run Postgres calls through pg::call, catch, remember the error in
// ctx, return false, and rethrow after score_streamed returns). Returns false when the CPU path
// must score the batch: for the same reasons as score(), or because extract returned false
// (then nothing is counted, and the caller knows why from ctx).
using extract_fn = bool (*)(void* ctx, int64_t first_row, int64_t n_rows, float* dst);
bool score_streamed(const model_ref& model, int64_t n_rows, extract_fn extract, void* ctx,
                    float* out);

// What gpu_info() reports: the module found, its devices, and why the GPU path is or is not
// live. Loads the module if it is not loaded yet (ignoring the breaker: this is the diagnosis).
struct device_info {
    int ordinal;
    std::string name;
    int compute_major, compute_minor;
    int64_t total_bytes, free_bytes;
    bool chosen;
};
struct status {
    std::string library; // resolved path
    bool loaded = false;
    bool live = false;
    std::string reason;
    std::vector<device_info> devices;
};
status probe();

// Frees what the module holds on the device; called at backend exit.
void release();

} // namespace ai_scale::scoring::gpu_offload
