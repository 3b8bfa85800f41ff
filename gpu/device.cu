// Device discovery, error reporting and a self-test kernel for ai_scale_gpu.so.
#include "ai_scale_gpu.h"
#include "chunk_plan.hpp"
#include "errors.hpp"
#include "module_state.hpp"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace {
thread_local char last_error[512] = "";
}

namespace ai_scale::gpu {

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
    // The driver, not the GPU: missing or too old; the toolkit's stub libcuda.so in its place
    // (a container's library path); one that does not match the kernel module, or not ready.
    // A stub was reported as a "CUDA error", as though the GPU had failed.
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
    case cudaErrorStubLibrary:
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
        return AI_SCALE_GPU_NO_DRIVER;
    case cudaErrorMemoryAllocation:
        return AI_SCALE_GPU_OUT_OF_MEMORY;
    default:
        return AI_SCALE_GPU_CUDA_ERROR;
    }
}

void clear_error()
{
    last_error[0] = '\0';
}

} // namespace ai_scale::gpu

namespace {
using namespace ai_scale::gpu;

// Never launched: runs_kernels() asks CUDA for its attributes, which it has only when the
// build's code runs on the current device.
__global__ void launch_probe(float* out)
{
    out[threadIdx.x] = 0.0f;
}

} // namespace

extern "C" int ai_scale_gpu_abi_version(void)
{
    return AI_SCALE_GPU_ABI_VERSION;
}

namespace {

int chosen = -1; // the device this module scores on, once chosen

// Whether the module's kernels can run on the current device: the build's code
// (CMAKE_CUDA_ARCHITECTURES: sm_90 and compute_90 PTX by default) runs on that capability and
// later ones, whose driver compiles the PTX; an earlier device has no image to run. On an A100
// (8.0) every batch uploaded its model and failed at its launch
// (cudaErrorNoKernelImageForDevice), while gpu_info() said live.
bool runs_kernels()
{
    cudaFuncAttributes attributes;
    const cudaError_t err = cudaFuncGetAttributes(&attributes, launch_probe);
    (void)cudaGetLastError();
    return err == cudaSuccess;
}

// Counts the devices and, the first time, chooses the one with the most free memory among those
// that can run the module's kernels (an error naming the first device's capability when none
// can).
int init_locked()
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess)
        return fail(status_of(err), "cudaGetDeviceCount", err);
    if (count == 0)
        return fail(AI_SCALE_GPU_NO_DEVICE, "no CUDA device");
    if (chosen < 0) {
        std::vector<size_t> free_bytes(size_t(count), 0);
        std::vector<bool> runs_module(size_t(count), false);
        for (int d = 0; d < count; d++) {
            size_t f = 0, t = 0;
            GPU_CHECK(cudaSetDevice(d), "cudaSetDevice");
            if (!runs_kernels())
                continue;
            GPU_CHECK(cudaMemGetInfo(&f, &t), "cudaMemGetInfo");
            free_bytes[size_t(d)] = f;
            runs_module[size_t(d)] = true;
        }
        chosen = pick_device(free_bytes, runs_module);
        if (chosen < 0) {
            int major = 0, minor = 0;
            GPU_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0),
                      "cudaDeviceGetAttribute");
            GPU_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0),
                      "cudaDeviceGetAttribute");
            char why[200];
            std::snprintf(why, sizeof why,
                          "none can run the module's kernels, built for other compute "
                          "capabilities (device 0 has %d.%d; CMAKE_CUDA_ARCHITECTURES)",
                          major, minor);
            return fail(AI_SCALE_GPU_NO_DEVICE, why);
        }
    }
    clear_error();
    return count;
}

} // namespace

namespace ai_scale::gpu {

std::mutex& module_mutex()
{
    static std::mutex mu;
    return mu;
}

int ensure_device()
{
    int count = init_locked();
    if (count < 0)
        return count;
    GPU_CHECK(cudaSetDevice(chosen), "cudaSetDevice");
    return chosen;
}

} // namespace ai_scale::gpu

extern "C" int ai_scale_gpu_init(void)
{
    std::lock_guard<std::mutex> lock(module_mutex());
    return init_locked();
}

extern "C" int ai_scale_gpu_describe(struct ai_scale_gpu_device* out, int max)
{
    if (out == nullptr || max < 0)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "describe: null output or negative max");
    std::lock_guard<std::mutex> lock(module_mutex());
    int count = init_locked();
    if (count < 0)
        return count;
    int n = count < max ? count : max;
    for (int d = 0; d < n; d++) {
        cudaDeviceProp prop;
        GPU_CHECK(cudaGetDeviceProperties(&prop, d), "cudaGetDeviceProperties");
        out[d].ordinal = d;
        size_t len = strnlen(prop.name, sizeof(out[d].name) - 1);
        std::memcpy(out[d].name, prop.name, len);
        out[d].name[len] = '\0';
        out[d].compute_major = prop.major;
        out[d].compute_minor = prop.minor;
        out[d].total_bytes = prop.totalGlobalMem;
        out[d].multiprocessors = prop.multiProcessorCount;
        int clock_khz = 0, bus_bits = 0;
        if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, d) != cudaSuccess ||
            cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, d) != cudaSuccess) {
            clock_khz = bus_bits = 0;
            (void)cudaGetLastError();
        }
        // Double data rate: two transfers per clock over the whole bus.
        out[d].memory_bandwidth_gbps = 2.0 * double(clock_khz) * 1e3 * (bus_bits / 8.0) / 1e9;
        out[d].chosen = d == chosen ? 1 : 0;
        GPU_CHECK(cudaSetDevice(d), "cudaSetDevice");
        size_t free_bytes = 0, total_bytes = 0;
        GPU_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
        out[d].free_bytes = free_bytes;
    }
    if (chosen >= 0)
        GPU_CHECK(cudaSetDevice(chosen), "cudaSetDevice");
    return n;
}

extern "C" const char* ai_scale_gpu_last_error(void)
{
    return last_error;
}
