// The byte ring under the async store queue (queue.cpp), apart from shared memory and locks so
// that unit tests reach it. Positions count bytes ever written (head) and read (tail) and never
// wrap; head - tail is what the ring holds and pos % size is where a byte lives.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ai_scale::predict {

struct byte_ring {
    char* base;
    uint64_t size;

    // Copies len bytes in at pos, continuing at the start of the buffer past its end.
    void write(uint64_t pos, const void* src, size_t len) const
    {
        const uint64_t off = pos % size;
        const size_t first = size_t(std::min<uint64_t>(len, size - off));
        memcpy(base + off, src, first);
        memcpy(base, static_cast<const char*>(src) + first, len - first);
    }

    // Copies len bytes out from pos, the same way.
    void read(uint64_t pos, void* dst, size_t len) const
    {
        const uint64_t off = pos % size;
        const size_t first = size_t(std::min<uint64_t>(len, size - off));
        memcpy(dst, base + off, first);
        memcpy(static_cast<char*>(dst) + first, base, len - first);
    }

    // Whether total more bytes fit beside the head - tail already held.
    bool fits(uint64_t head, uint64_t tail, uint64_t total) const
    {
        return head - tail + total <= size;
    }

    // Whether adding total bytes takes the ring past half full: the moment to wake the worker.
    bool crosses_half(uint64_t head, uint64_t tail, uint64_t total) const
    {
        return head - tail <= size / 2 && head - tail + total > size / 2;
    }
};

// Entries are padded to 8 bytes so that every header starts aligned.
inline uint32_t padded(size_t n)
{
    return uint32_t((n + 7) & ~size_t(7));
}

} // namespace ai_scale::predict
