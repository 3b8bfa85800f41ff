// Process-wide state of ai_scale_gpu.so shared by its translation units.
#pragma once

#include <mutex>

namespace ai_scale::gpu {

// Serialises the ABI entry points: the module's caches are not thread-safe on their own.
std::mutex& module_mutex();

// Initialises the runtime on first use, chooses the device with the most free memory and makes
// it current on this thread. Returns the ordinal or a negative status.
int ensure_device();

} // namespace ai_scale::gpu
