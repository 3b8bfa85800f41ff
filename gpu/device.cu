// Device discovery, error reporting and a self-test kernel for ai_scale_gpu.so.
#include "ai_scale_gpu.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace {

thread_local char last_error[512] = "";

int fail(int status, const char* what, cudaError_t err)
{
    std::snprintf(last_error, sizeof(last_error), "%s: %s (%s)", what, cudaGetErrorString(err),
                  cudaGetErrorName(err));
    return status;
}

int fail(int status, const char* what)
{
    std::snprintf(last_error, sizeof(last_error), "%s", what);
    return status;
}

int status_of(cudaError_t err)
{
    switch (err) {
    case cudaErrorNoDevice:
        return AI_SCALE_GPU_NO_DEVICE;
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
        return AI_SCALE_GPU_NO_DRIVER;
    default:
        return AI_SCALE_GPU_CUDA_ERROR;
    }
}

__global__ void saxpy(int n, float a, const float* x, const float* y, float* out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = a * x[i] + y[i];
}

} // namespace

extern "C" int ai_scale_gpu_abi_version(void) { return AI_SCALE_GPU_ABI_VERSION; }

extern "C" int ai_scale_gpu_init(void)
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess)
        return fail(status_of(err), "cudaGetDeviceCount", err);
    if (count == 0)
        return fail(AI_SCALE_GPU_NO_DEVICE, "no CUDA device");
    last_error[0] = '\0';
    return count;
}

extern "C" int ai_scale_gpu_describe(struct ai_scale_gpu_device* out, int max)
{
    if (out == nullptr || max < 0)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "describe: null output or negative max");
    int count = ai_scale_gpu_init();
    if (count < 0)
        return count;
    int n = count < max ? count : max;
    for (int d = 0; d < n; d++) {
        cudaDeviceProp prop;
        cudaError_t err = cudaGetDeviceProperties(&prop, d);
        if (err != cudaSuccess)
            return fail(status_of(err), "cudaGetDeviceProperties", err);
        out[d].ordinal = d;
        size_t len = strnlen(prop.name, sizeof(out[d].name) - 1);
        std::memcpy(out[d].name, prop.name, len);
        out[d].name[len] = '\0';
        out[d].compute_major = prop.major;
        out[d].compute_minor = prop.minor;
        out[d].total_bytes = prop.totalGlobalMem;
        out[d].free_bytes = 0;
        if ((err = cudaSetDevice(d)) != cudaSuccess)
            return fail(status_of(err), "cudaSetDevice", err);
        size_t free_bytes = 0, total_bytes = 0;
        if ((err = cudaMemGetInfo(&free_bytes, &total_bytes)) != cudaSuccess)
            return fail(status_of(err), "cudaMemGetInfo", err);
        out[d].free_bytes = free_bytes;
    }
    return n;
}

extern "C" int ai_scale_gpu_selftest(int device, int n, float a, const float* x, const float* y,
                                     float* out)
{
    if (n <= 0 || x == nullptr || y == nullptr || out == nullptr)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "selftest: empty or null input");
    cudaError_t err = cudaSetDevice(device);
    if (err != cudaSuccess)
        return fail(status_of(err), "cudaSetDevice", err);
    float *dx = nullptr, *dy = nullptr, *dout = nullptr;
    size_t bytes = size_t(n) * sizeof(float);
    int status = AI_SCALE_GPU_OK;
    if ((err = cudaMalloc(&dx, bytes)) != cudaSuccess ||
        (err = cudaMalloc(&dy, bytes)) != cudaSuccess ||
        (err = cudaMalloc(&dout, bytes)) != cudaSuccess ||
        (err = cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice)) != cudaSuccess ||
        (err = cudaMemcpy(dy, y, bytes, cudaMemcpyHostToDevice)) != cudaSuccess) {
        status = fail(status_of(err), "selftest: allocate and copy", err);
    } else {
        saxpy<<<(n + 255) / 256, 256>>>(n, a, dx, dy, dout);
        if ((err = cudaGetLastError()) != cudaSuccess ||
            (err = cudaMemcpy(out, dout, bytes, cudaMemcpyDeviceToHost)) != cudaSuccess)
            status = fail(status_of(err), "selftest: kernel", err);
    }
    cudaFree(dx);
    cudaFree(dy);
    cudaFree(dout);
    if (status == AI_SCALE_GPU_OK)
        last_error[0] = '\0';
    return status;
}

extern "C" const char* ai_scale_gpu_last_error(void) { return last_error; }
