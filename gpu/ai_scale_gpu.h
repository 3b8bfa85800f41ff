/* The C ABI of ai_scale_gpu.so. No C++ types or exceptions cross it: every function returns
 * 0 on success or a negative code, and ai_scale_gpu_last_error() describes the last failure of
 * the calling thread. */
#ifndef AI_SCALE_GPU_H
#define AI_SCALE_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AI_SCALE_GPU_ABI_VERSION 1

enum ai_scale_gpu_status {
    AI_SCALE_GPU_OK = 0,
    AI_SCALE_GPU_NO_DRIVER = -1, /* no driver, or it is older than the runtime */
    AI_SCALE_GPU_NO_DEVICE = -2,
    AI_SCALE_GPU_CUDA_ERROR = -3,
    AI_SCALE_GPU_BAD_ARGUMENT = -4,
};

struct ai_scale_gpu_device {
    int ordinal;
    char name[96];
    int compute_major;
    int compute_minor;
    size_t total_bytes;
    size_t free_bytes;
};

/* ABI version the library was built with; the loader refuses a mismatch. */
int ai_scale_gpu_abi_version(void);

/* Finds the devices; returns how many there are (>= 0) or a negative status. */
int ai_scale_gpu_init(void);

/* Fills up to max entries of out; returns how many were written or a negative status. */
int ai_scale_gpu_describe(struct ai_scale_gpu_device* out, int max);

/* Runs a tiny kernel (out[i] = a * x[i] + y[i]) on the chosen device: proves the module can
 * launch work there. */
int ai_scale_gpu_selftest(int device, int n, float a, const float* x, const float* y, float* out);

/* Message for the last failure on this thread ("" if none). */
const char* ai_scale_gpu_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
