// Keeps the memory a backend frees in its heap, for the next call that needs as much.
//
// glibc gives memory at the top of the heap back to the system when more than M_TRIM_THRESHOLD
// lies free there, and serves a block of M_MMAP_THRESHOLD or more with an mmap of its own, given
// back when it is freed. Both start at 128 kB. glibc raises them the first time the process
// frees an mmapped block larger than that, to its size and twice it, so a block of that same
// size is still mmapped afterwards. A backend that had not freed a larger block yet therefore
// took every large piece of memory a call used from the system again at the next call, as fresh
// pages: on the development VM, where a page fault costs 15-35 us,
// - each partition added at 1000 partitions: Postgres parses every bound again for the table's
//   partition descriptor (1.7 MB, freed at the end of the statement), 400 faults and 5-8 ms an
//   add, in some sessions and not others (bench/RESULTS.md, twenty-seventh session);
// - each cache_get_many of 100 values of 1 kB: the answer written out as text, about 100 faults,
//   two thirds of the call (sixtieth session); each predict_batch of 5,000 inputs, 1,870;
// - each query of score_batched over 200,000 rows: the window's buffer of a batch's rows, 615
//   faults (sixty-first session).
// Freeing one large untouched block raises both thresholds as glibc's own rule does after any
// large free, at the cost of one mmap and munmap: the backend then keeps up to twice that size
// free in its heap, and takes nothing from the system that it does not use. Pure C++ (no
// Postgres headers).
#pragma once

#include <algorithm>
#include <cstddef>

namespace ai_scale::pg {

// glibc raises its thresholds for blocks up to 32 MB (on 64-bit) and no further, comparing the
// block's size with its header, whole pages and its flag bits: a request of 32 MB, or of 32 MB
// less a page, made a block it counts as over that, and raised nothing. The largest request
// that still raises them is 32 MB less a page and 24 bytes; two pages less, to spare.
constexpr size_t kept_heap_max = (size_t(32) << 20) - 8192;

// Raises glibc's thresholds to `bytes` (at most kept_heap_max), so that a block smaller than
// that comes from the heap and up to twice that stays there once freed; does nothing at or
// below glibc's starting 128 kB, when an earlier call raised them as far, or without glibc's
// malloc. Returns the size of the block freed to do it (0 when none was).
size_t keep_freed_heap(size_t bytes);

// How much heap a call keeps, from what it answers and how many elements it handled:
// - `answer_bytes`, the values it returns (a jsonb or an array of them, in binary form): Postgres
//   writes them out as text into a buffer that doubles as it fills, and then into the protocol's
//   message, up to about four times that in its largest blocks; twice that, to spare;
// - `elements`, the batch's inputs: predict_batch of 5,000 inputs of a linear model freed 7.3 MB
//   of heap a call, 1.5 kB an input; 2 kB, to spare.
constexpr size_t answer_heap_factor = 8;
constexpr size_t batch_heap_per_element = 2048;
inline size_t keep_heap_for_call(size_t answer_bytes, size_t elements = 0)
{
    return keep_freed_heap(
        std::max(answer_bytes * answer_heap_factor, elements * batch_heap_per_element));
}

} // namespace ai_scale::pg
