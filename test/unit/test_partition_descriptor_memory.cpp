// keep_descriptor_memory (src/partition/descriptor_memory.hpp): which calls free a block, and
// that glibc then keeps the memory a descriptor's rebuild frees, measured in a process of its
// own (descriptor_memory_probe.cpp).
#include "partition/descriptor_memory.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

using ai_scale::partition::descriptor_bytes_max;
using ai_scale::partition::descriptor_bytes_per_partition;
using ai_scale::partition::keep_descriptor_memory;

// The only test of this process that calls it: the sizes kept so far are this test's.
TEST(DescriptorMemory, FreesABlockOnlyWhenItRaisesTheThresholds)
{
#if defined(__GLIBC__)
    // 31 partitions: 124 kB, under glibc's starting thresholds (128 kB).
    EXPECT_EQ(keep_descriptor_memory(0), 0u);
    EXPECT_EQ(keep_descriptor_memory(31), 0u);
    EXPECT_EQ(keep_descriptor_memory(1000), 1000 * descriptor_bytes_per_partition);
    EXPECT_EQ(keep_descriptor_memory(1000), 0u);
    EXPECT_EQ(keep_descriptor_memory(500), 0u);
    EXPECT_EQ(keep_descriptor_memory(1001), 1001 * descriptor_bytes_per_partition);
    // glibc raises its thresholds for blocks up to 32 MB, no further.
    EXPECT_EQ(keep_descriptor_memory(100000), descriptor_bytes_max);
    EXPECT_EQ(keep_descriptor_memory(200000), 0u);
#else
    EXPECT_EQ(keep_descriptor_memory(1000), 0u);
#endif
}

TEST(DescriptorMemory, GlibcKeepsTheFreedHeapAfterwards)
{
#if !defined(__GLIBC__) || defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "glibc's own malloc only";
#else
    FILE* probe = popen(DESCRIPTOR_MEMORY_PROBE, "r");
    ASSERT_NE(probe, nullptr);
    unsigned long long before = 0, after = 0;
    const int read = std::fscanf(probe, "%llu %llu", &before, &after);
    ASSERT_EQ(pclose(probe), 0);
    ASSERT_EQ(read, 2);
    // Before: glibc gave back all but its 128 kB pad. After: it kept the 2 MB.
    EXPECT_LT(before, 1024u * 1024u);
    EXPECT_GE(after, 2u * 1024u * 1024u);
#endif
}
