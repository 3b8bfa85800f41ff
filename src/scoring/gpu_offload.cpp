// Until the GPU module's loader lands, every batch is scored on the CPU path.
#include "scoring/gpu_offload.hpp"

namespace ai_scale::scoring::gpu_offload {

bool score(const model_ref&, const float*, int64_t, float*) { return false; }

} // namespace ai_scale::scoring::gpu_offload
