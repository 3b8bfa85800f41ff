// Error reporting inside ai_scale_gpu.so: a failure sets the thread's last error text and
// returns a status of ai_scale_gpu.h.
#pragma once

#include "ai_scale_gpu.h"

#include <cuda_runtime.h>

namespace ai_scale::gpu {

int fail(int status, const char* what, cudaError_t err);
int fail(int status, const char* what);
int status_of(cudaError_t err);
void clear_error();

// Checks one CUDA call: on failure records it and returns the status from the caller.
#define GPU_CHECK(call, what)                                                                      \
    do {                                                                                           \
        cudaError_t err_ = (call);                                                                 \
        if (err_ != cudaSuccess)                                                                   \
            return ::ai_scale::gpu::fail(::ai_scale::gpu::status_of(err_), what, err_);            \
    } while (0)

} // namespace ai_scale::gpu
