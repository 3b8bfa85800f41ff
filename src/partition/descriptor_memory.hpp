// Keeps the memory of a partition descriptor's rebuild in the backend's heap between rebuilds.
//
// Each partition added or dropped makes Postgres build the table's partition descriptor again
// at its next use: every partition's bound parsed from pg_class into about 1.7 kB, freed at the
// end of the statement. glibc gives memory at the top of the heap back to the system when more
// than M_TRIM_THRESHOLD lies free there, and serves blocks over M_MMAP_THRESHOLD with mmap of
// their own; both start at 128 kB and rise the first time the process frees an mmapped block
// larger than that (to its size and twice it). A backend that has not freed such a block yet
// gave the descriptor's memory back after every statement and took it again at the next, as
// fresh pages: about 400 page faults and 5-8 ms an added partition at 1000 partitions on the
// development VM, in some sessions and not others (bench/RESULTS.md, twenty-seventh session).
// Freeing one large untouched block raises both thresholds as glibc would after any large free,
// at the cost of one mmap and munmap: the backend then keeps up to twice that size free, and
// takes nothing from the system unless it needs it. Pure C++ (no Postgres headers).
#pragma once

#include <cstddef>

namespace ai_scale::partition {

// The heap a rebuild uses per partition, with room to spare (measured: about 1.7 kB).
constexpr size_t descriptor_bytes_per_partition = 4096;
// glibc does not raise its thresholds for blocks over this (32 MB on 64-bit: 8000 partitions).
constexpr size_t descriptor_bytes_max = size_t(32) << 20;

// Raises glibc's thresholds so that rebuilding the descriptor of a table of `partitions`
// partitions leaves its memory in the heap; does nothing below 128 kB, when an earlier call
// covered as much, or without glibc. Returns the bytes of the block freed to do it (0 when
// none was).
size_t keep_descriptor_memory(size_t partitions);

} // namespace ai_scale::partition
