/* The C ABI of ai_scale_gpu.so. No C++ types or exceptions cross it: every function returns
 * 0 (or a count) on success or a negative status, and ai_scale_gpu_last_error() describes the
 * last failure of the calling thread.
 *
 * The module keeps, per process: the device it chose (the one with the most free memory when it
 * was first initialised), the models uploaded to it (keyed by name, version and fingerprint; a
 * new version or fingerprint of a name frees the old one, and all idle models are freed when
 * memory runs short), and pinned staging buffers reused from call to call. */
#ifndef AI_SCALE_GPU_H
#define AI_SCALE_GPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AI_SCALE_GPU_ABI_VERSION 2

/* The module is built with hidden visibility (its static cudart stays private); only these
 * functions are exported. */
#if defined(__GNUC__)
#define AI_SCALE_GPU_API __attribute__((visibility("default")))
#else
#define AI_SCALE_GPU_API
#endif

enum ai_scale_gpu_status {
    AI_SCALE_GPU_OK = 0,
    AI_SCALE_GPU_NO_DRIVER = -1, /* no driver, or it is older than the runtime */
    AI_SCALE_GPU_NO_DEVICE = -2,
    AI_SCALE_GPU_CUDA_ERROR = -3, /* a CUDA call or a kernel failed */
    AI_SCALE_GPU_BAD_ARGUMENT = -4,
    AI_SCALE_GPU_OUT_OF_MEMORY = -5, /* device or pinned host memory, even after freeing caches */
    AI_SCALE_GPU_FILL_FAILED = -6,   /* the caller's fill callback stopped the batch */
};

/* Model kinds, as in src/scoring/model_math.hpp (enum model_kind). */
enum ai_scale_gpu_kind {
    AI_SCALE_GPU_LINEAR = 0,
    AI_SCALE_GPU_LOGISTIC = 1,
    AI_SCALE_GPU_MLP = 2,
    AI_SCALE_GPU_GBDT = 3,
};

struct ai_scale_gpu_device {
    int ordinal;
    char name[96];
    int compute_major;
    int compute_minor;
    size_t total_bytes;
    size_t free_bytes;
    int multiprocessors;
    double memory_bandwidth_gbps; /* theoretical peak from the memory clock and bus width; 0 if
                                     unknown */
    int chosen;                   /* 1 for the device this module scores on */
};

/* A model in host memory, in the flat layout of src/scoring/model_math.hpp. Only the fields of
 * its kind are read; the module copies them, so they need to live only for the call. */
struct ai_scale_gpu_model {
    const char* name;
    int32_t version;
    uint64_t fingerprint; /* changes whenever the parameters change */
    int32_t kind;         /* enum ai_scale_gpu_kind */
    int32_t n_features;
    int32_t n_outputs; /* 1, except mlp: its last layer's width */

    /* linear, logistic */
    const float* linear_weights; /* n_features */
    float linear_bias;

    /* mlp */
    int32_t mlp_layers;
    const int32_t* mlp_sizes; /* mlp_layers + 1; mlp_sizes[0] = n_features */
    const float* mlp_weights;
    int64_t mlp_weights_len;
    const float* mlp_biases;
    int64_t mlp_biases_len;
    const int32_t* mlp_activations; /* mlp_layers */

    /* gbdt: breadth-first nodes, siblings adjacent (right child = left + 1) */
    int64_t gbdt_nodes;
    const int32_t* gbdt_feature;
    const float* gbdt_value;
    const int32_t* gbdt_left;
    const uint8_t* gbdt_default_left;
    const int32_t* gbdt_tree_root;
    int32_t gbdt_trees;
    float gbdt_base_margin;
    int32_t gbdt_logistic;
};

/* What one ai_scale_gpu_score call did, measured with CUDA events. */
struct ai_scale_gpu_timing {
    double pipeline_ms; /* device timeline from the first copy in to the last copy out */
    double kernel_ms;   /* sum over chunks of the kernels alone */
    int64_t chunk_rows;
    int32_t chunks;
    int32_t streams;
    int32_t device;
    int32_t pinned_input; /* 1 when rows were already in pinned memory (no staging copy) */
};

/* ABI version the library was built with; the loader refuses a mismatch. */
AI_SCALE_GPU_API int ai_scale_gpu_abi_version(void);

/* Finds the devices and chooses the one with the most free memory; returns how many there are
 * (> 0) or a negative status (NO_DRIVER, NO_DEVICE). */
AI_SCALE_GPU_API int ai_scale_gpu_init(void);

/* Fills up to max entries of out; returns how many were written or a negative status. */
AI_SCALE_GPU_API int ai_scale_gpu_describe(struct ai_scale_gpu_device* out, int max);

/* Scores n_rows row-major float32 rows (n_features wide, NaN = missing) into out
 * (n_rows * n_outputs floats), uploading the model first if needed. Chunks the rows through
 * pinned buffers on two or more streams; timing may be NULL. */
AI_SCALE_GPU_API int ai_scale_gpu_score(const struct ai_scale_gpu_model* model, const float* rows,
                                        int64_t n_rows, float* out,
                                        struct ai_scale_gpu_timing* timing);

/* Writes rows [first_row, first_row + n_rows) of a batch, row-major, into dst (pinned memory
 * of the module). Returns 0, or nonzero to abandon the batch. Called on the scoring thread, in
 * row order, while the device copies and scores the previous chunks; it must return normally
 * (no longjmp or exception through the module). */
typedef int (*ai_scale_gpu_fill_fn)(void* ctx, int64_t first_row, int64_t n_rows, float* dst);

/* As ai_scale_gpu_score, with the rows produced chunk by chunk by fill (e.g. extracted from
 * JSONB) so that producing chunk k + 1 overlaps the copy and kernel of chunk k. */
AI_SCALE_GPU_API int ai_scale_gpu_score_fill(const struct ai_scale_gpu_model* model, int64_t n_rows,
                                             ai_scale_gpu_fill_fn fill, void* ctx, float* out,
                                             struct ai_scale_gpu_timing* timing);

/* Pinned host memory: rows and outputs there are copied by DMA without staging. */
AI_SCALE_GPU_API void* ai_scale_gpu_host_alloc(size_t bytes);
AI_SCALE_GPU_API void ai_scale_gpu_host_free(void* p);

/* For gpu/check.sh: copies all rows to the device once, runs the kernel reps times and reports
 * the mean milliseconds of one run (CUDA events); writes the last run's scores to out. */
AI_SCALE_GPU_API int ai_scale_gpu_bench_kernel(const struct ai_scale_gpu_model* model,
                                               const float* rows, int64_t n_rows, int reps,
                                               float* out, double* ms_per_run);

/* Measured copy bandwidth (GB/s) with pinned buffers of `bytes`: host to device, device to
 * host, and device to device (counting both the read and the write). */
AI_SCALE_GPU_API int ai_scale_gpu_bandwidth(size_t bytes, double* h2d_gbps, double* d2h_gbps,
                                            double* d2d_gbps);

/* Frees every model, stream and buffer the module holds. */
AI_SCALE_GPU_API void ai_scale_gpu_release(void);

/* Message for the last failure on this thread ("" if none). */
AI_SCALE_GPU_API const char* ai_scale_gpu_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
