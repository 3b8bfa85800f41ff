// keep_freed_heap (src/pg/kept_heap.hpp): which calls free a block, and that glibc then keeps
// the heap a call frees, measured in a process of its own (kept_heap_probe.cpp).
#include "pg/kept_heap.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

using ai_scale::pg::answer_heap_factor;
using ai_scale::pg::batch_heap_per_element;
using ai_scale::pg::keep_freed_heap;
using ai_scale::pg::keep_heap_for_call;
using ai_scale::pg::kept_heap_max;

// The only test of this process that calls it: the sizes kept so far are this test's.
TEST(KeptHeap, FreesABlockOnlyWhenItRaisesTheThresholds)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    constexpr size_t kb = 1024;
    // At or under glibc's starting thresholds (128 kB): nothing to raise.
    EXPECT_EQ(keep_freed_heap(0), 0u);
    EXPECT_EQ(keep_freed_heap(128 * kb), 0u);
    EXPECT_EQ(keep_heap_for_call(16 * kb), 0u);
    EXPECT_EQ(keep_heap_for_call(0, 64), 0u);
    EXPECT_EQ(keep_freed_heap(128 * kb + 1), 128 * kb + 1);
    EXPECT_EQ(keep_freed_heap(4000 * kb), 4000 * kb);
    EXPECT_EQ(keep_freed_heap(4000 * kb), 0u);
    EXPECT_EQ(keep_freed_heap(2000 * kb), 0u);
    EXPECT_EQ(keep_heap_for_call(1000 * kb, 10), 1000 * kb * answer_heap_factor);
    EXPECT_EQ(keep_heap_for_call(1000 * kb, 10000), 10000 * batch_heap_per_element);
    // glibc raises its thresholds for blocks up to 32 MB, no further.
    EXPECT_EQ(keep_freed_heap(size_t(1) << 30), kept_heap_max);
    EXPECT_EQ(keep_freed_heap(size_t(2) << 30), 0u);
#else
    EXPECT_EQ(keep_freed_heap(size_t(4) << 20), 0u);
#endif
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
namespace {
// The numbers kept_heap_probe prints when run with `arguments`, in a process of its own; none
// when it could not run or did not exit 0.
std::vector<unsigned long long> run_probe(const std::string& arguments)
{
    const std::string command = std::string(KEPT_HEAP_PROBE) + " " + arguments;
    FILE* probe = popen(command.c_str(), "r");
    if (probe == nullptr)
        return {};
    std::vector<unsigned long long> numbers;
    unsigned long long n;
    while (std::fscanf(probe, "%llu", &n) == 1)
        numbers.push_back(n);
    if (pclose(probe) != 0)
        return {};
    return numbers;
}

// kept_heap_probe's `mmapped N`: the bytes glibc holds in mmapped blocks while a 24 MB block is
// allocated, after keep_freed_heap(N); ~0 when the probe failed.
unsigned long long mmapped_after_raise(unsigned long long raise)
{
    const std::vector<unsigned long long> mmapped = run_probe("mmapped " + std::to_string(raise));
    return mmapped.size() == 1 ? mmapped[0] : ~0ull;
}
} // namespace
#endif

TEST(KeptHeap, GlibcKeepsTheFreedHeapAfterwards)
{
#if !defined(__GLIBC__) || defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "glibc's own malloc only";
#else
    const std::vector<unsigned long long> kept = run_probe("");
    ASSERT_EQ(kept.size(), 2u);
    // Before: glibc gave back all but its 128 kB pad. After: it kept the 2 MB.
    EXPECT_LT(kept[0], 1024u * 1024u);
    EXPECT_GE(kept[1], 2u * 1024u * 1024u);
#endif
}

// The largest raise asked for, kept_heap_max, still raises glibc's thresholds: a block larger
// than glibc's cap (32 MB) once its header is counted would not, and would change nothing.
TEST(KeptHeap, TheLargestRaiseTakesEffect)
{
#if !defined(__GLIBC__) || defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "glibc's own malloc only";
#else
    constexpr unsigned long long block = 24ull << 20;
    // Without a raise glibc maps a 24 MB block of its own; with the largest, from the heap.
    EXPECT_GE(mmapped_after_raise(0), block);
    EXPECT_EQ(mmapped_after_raise(kept_heap_max), 0u);
    EXPECT_EQ(mmapped_after_raise(1ull << 30), 0u);
#endif
}
