#include "cache/shared_memory.hpp"
#include "cache/breaker_registry.hpp"
#include "cache/generations.hpp"
#include "cache/l1_shared.hpp"

namespace ai_scale::cache {

void request_shared_memory()
{
    request_l1_memory();
    request_generation_memory();
    request_breaker_memory();
}

} // namespace ai_scale::cache
