#include "pg/kept_heap.hpp"

#include <algorithm>
#include <cstdlib>

namespace ai_scale::pg {

namespace {

// glibc's starting thresholds.
constexpr size_t glibc_initial_threshold = size_t(128) << 10;

// The size of the largest block freed here so far: the thresholds are at least that.
size_t kept_bytes = 0;

} // namespace

size_t keep_freed_heap(size_t bytes)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    bytes = std::min(bytes, kept_heap_max);
    if (bytes <= glibc_initial_threshold || bytes <= kept_bytes)
        return 0;
    // Through a volatile pointer, so that the compiler cannot drop the pair as unused. The
    // block is never written: mmap gives it no pages.
    void* volatile block = std::malloc(bytes);
    if (block == nullptr)
        return 0;
    std::free(block);
    kept_bytes = bytes;
    return bytes;
#else
    (void)bytes;
    return 0;
#endif
}

} // namespace ai_scale::pg
