#include "scoring/gpu_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <map>
#include <memory>

namespace ai_scale::scoring::gpu_loader {

std::string resolve_path(const std::string& setting, const std::string& pkglib_dir)
{
    const std::string macro = "$libdir";
    if (setting.compare(0, macro.size(), macro) == 0)
        return pkglib_dir + setting.substr(macro.size());
    return setting;
}

namespace {

template <typename F> bool bind(void* handle, const char* name, F* slot)
{
    *slot = reinterpret_cast<F>(dlsym(handle, name));
    return *slot != nullptr;
}

} // namespace

const api* open(const std::string& path, std::string* why)
{
    static std::map<std::string, std::unique_ptr<api>> opened;
    auto it = opened.find(path);
    if (it != opened.end())
        return it->second.get();

    if (access(path.c_str(), F_OK) != 0) {
        *why = "GPU module \"" + path + "\" not found";
        return nullptr;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* err = dlerror();
        *why = "could not load GPU module \"" + path + "\": " + (err ? err : "unknown error");
        return nullptr;
    }
    auto a = std::make_unique<api>();
    if (!bind(handle, "ai_scale_gpu_abi_version", &a->abi_version)) {
        dlclose(handle);
        *why = "\"" + path + "\" is not an ai_scale GPU module (no ai_scale_gpu_abi_version)";
        return nullptr;
    }
    int version = a->abi_version();
    if (version != AI_SCALE_GPU_ABI_VERSION) {
        dlclose(handle);
        *why = "GPU module \"" + path + "\" has ABI version " + std::to_string(version) +
               ", this ai_scale needs " + std::to_string(AI_SCALE_GPU_ABI_VERSION);
        return nullptr;
    }
    if (!bind(handle, "ai_scale_gpu_init", &a->init) ||
        !bind(handle, "ai_scale_gpu_describe", &a->describe) ||
        !bind(handle, "ai_scale_gpu_score", &a->score) ||
        !bind(handle, "ai_scale_gpu_score_fill", &a->score_fill) ||
        !bind(handle, "ai_scale_gpu_release", &a->release) ||
        !bind(handle, "ai_scale_gpu_last_error", &a->last_error)) {
        dlclose(handle);
        *why = "GPU module \"" + path + "\" lacks an entry point of ABI version " +
               std::to_string(AI_SCALE_GPU_ABI_VERSION);
        return nullptr;
    }
    return (opened[path] = std::move(a)).get();
}

const char* status_text(int status)
{
    switch (status) {
    case AI_SCALE_GPU_OK:
        return "ok";
    case AI_SCALE_GPU_NO_DRIVER:
        return "no usable CUDA driver";
    case AI_SCALE_GPU_NO_DEVICE:
        return "no CUDA device";
    case AI_SCALE_GPU_CUDA_ERROR:
        return "CUDA error";
    case AI_SCALE_GPU_BAD_ARGUMENT:
        return "model or batch refused by the GPU module";
    case AI_SCALE_GPU_OUT_OF_MEMORY:
        return "out of GPU memory";
    case AI_SCALE_GPU_FILL_FAILED:
        return "row extraction stopped the batch";
    default:
        return "unknown GPU module status";
    }
}

} // namespace ai_scale::scoring::gpu_loader
