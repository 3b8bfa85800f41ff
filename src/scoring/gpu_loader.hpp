// Finds and opens ai_scale_gpu.so (dlopen on first use) and resolves its C ABI. Pure C++ with
// no Postgres header: unit-tested against real and fake modules.
#pragma once

#include "ai_scale_gpu.h"

#include <string>

namespace ai_scale::scoring::gpu_loader {

// The module's entry points.
struct api {
    int (*abi_version)(void);
    int (*init)(void);
    int (*describe)(ai_scale_gpu_device*, int);
    int (*score)(const ai_scale_gpu_model*, const float*, int64_t, float*, ai_scale_gpu_timing*);
    int (*score_fill)(const ai_scale_gpu_model*, int64_t, ai_scale_gpu_fill_fn, void*, float*,
                      ai_scale_gpu_timing*);
    void (*release)(void);
    const char* (*last_error)(void);
};

// Expands a leading "$libdir" to pkglib_dir.
std::string resolve_path(const std::string& setting, const std::string& pkglib_dir);

// Opens the module at path and checks its ABI version. Returns nullptr and says why when the
// file is missing, not a loadable library, not our module, or built for another ABI. A module
// once opened stays open for the life of the process (unloading the CUDA runtime is unsafe), so
// the same path returns the same api.
const api* open(const std::string& path, std::string* why);

// Words for a status of ai_scale_gpu.h ("no CUDA driver", "out of device memory", ...).
const char* status_text(int status);

} // namespace ai_scale::scoring::gpu_loader
