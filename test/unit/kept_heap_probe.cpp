// A process of its own for test_kept_heap.cpp: glibc's malloc thresholds are the process's, and
// the unit tests' process may have raised them already. Exits 1 without glibc.
// - No argument: frees 2 MB of small blocks lying at the top of the heap and reads how much of
//   it glibc kept, once before and once after keep_freed_heap(4 MB); prints "before after"
//   (bytes kept).
// - `mmapped N`: keep_freed_heap(N), then prints how many bytes glibc holds in mmapped blocks
//   while one block of 24 MB is allocated: 24 MB or more when it came from an mmap of its own,
//   0 when from the heap.
#include "pg/kept_heap.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

// 2 MB in blocks of 16 kB: each under glibc's starting mmap threshold, so all from the heap.
size_t kept_after_freeing_2mb()
{
#if defined(__GLIBC__)
    std::vector<void*> blocks(128);
    for (void*& b : blocks) {
        b = std::malloc(16384);
        std::memset(b, 1, 16384);
    }
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it)
        std::free(*it);
    // The top chunk: what the heap holds free above everything in use.
    return mallinfo2().keepcost;
#else
    return 0;
#endif
}

// The bytes in mmapped blocks while a 24 MB block is allocated.
size_t mmapped_with_24mb_block()
{
#if defined(__GLIBC__)
    void* volatile block = std::malloc(size_t(24) << 20);
    const size_t mmapped = mallinfo2().hblkhd;
    std::free(block);
    return mmapped;
#else
    return 0;
#endif
}

} // namespace

int main(int argc, char** argv)
{
#if defined(__GLIBC__)
    if (argc == 3 && std::strcmp(argv[1], "mmapped") == 0) {
        ai_scale::pg::keep_freed_heap(std::strtoull(argv[2], nullptr, 10));
        std::printf("%zu\n", mmapped_with_24mb_block());
        return 0;
    }
    const size_t before = kept_after_freeing_2mb();
    ai_scale::pg::keep_freed_heap(size_t(4) << 20);
    const size_t after = kept_after_freeing_2mb();
    std::printf("%zu %zu\n", before, after);
    return 0;
#else
    return 1;
#endif
}
