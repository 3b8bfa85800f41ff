// How a batch is cut into chunks and driven through the streams. Pure C++ (no CUDA header):
// the module runs it with a CUDA backend, and the unit tests run the very same code with a CPU
// backend over the shared model formulas (test/unit/test_gpu_pipeline.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ai_scale::gpu {

// Limits of the planner; the defaults are what the module uses.
struct plan_limits {
    int32_t max_streams = 3;
    int64_t target_chunk_bytes = int64_t(32) << 20; // input bytes per chunk: long enough DMA
    int64_t min_chunk_rows = 1024;
    double device_share = 0.5; // of the free device memory, for the chunk buffers
};

struct chunk_plan {
    int64_t chunk_rows = 0; // rows per chunk (the last one may be shorter)
    int64_t chunks = 0;
    int32_t streams = 0; // slots: each has its own stream, device and pinned buffers
    bool fits = false;   // false: not even min_chunk_rows per slot fit in the memory given
};

// Chooses the chunk size from the free device memory (after the model's bytes) so that every
// slot's input and output buffers fit, capped at target_chunk_bytes of input per chunk.
inline chunk_plan plan_chunks(int64_t n_rows, int64_t row_in_bytes, int64_t row_out_bytes,
                              int64_t free_device_bytes, const plan_limits& lim = {})
{
    chunk_plan p;
    if (n_rows <= 0 || row_in_bytes <= 0 || row_out_bytes <= 0)
        return p;
    int64_t row_bytes = row_in_bytes + row_out_bytes;
    int64_t budget = int64_t(double(std::max<int64_t>(free_device_bytes, 0)) * lim.device_share);
    int64_t by_target = std::max<int64_t>(lim.target_chunk_bytes / row_in_bytes, 1);
    int64_t rows = std::min(n_rows, by_target);
    int64_t chunks = (n_rows + rows - 1) / rows;
    int32_t streams = int32_t(std::min<int64_t>(std::max(lim.max_streams, 1), chunks));
    int64_t by_memory = budget / (row_bytes * streams);
    if (by_memory < rows) {
        // Memory-bound: use every stream we may, each with the largest chunk that fits.
        streams = std::max(lim.max_streams, 1);
        by_memory = budget / (row_bytes * streams);
        rows = std::min(rows, by_memory);
        if (rows < std::min(lim.min_chunk_rows, n_rows))
            return p;
        chunks = (n_rows + rows - 1) / rows;
        streams = int32_t(std::min<int64_t>(streams, chunks));
    }
    p.chunk_rows = rows;
    p.chunks = chunks;
    p.streams = streams;
    p.fits = true;
    return p;
}

// The device to score on: the one with the most free memory (the lowest ordinal on a tie);
// -1 when there is none.
// Among the devices that can run the module (runs_module[d]; all of them when it is empty):
// -1 when none can.
inline int pick_device(const std::vector<std::size_t>& free_bytes,
                       const std::vector<bool>& runs_module = {})
{
    int best = -1;
    for (std::size_t d = 0; d < free_bytes.size(); d++)
        if ((runs_module.empty() || runs_module[d]) &&
            (best < 0 || free_bytes[d] > free_bytes[std::size_t(best)]))
            best = int(d);
    return best;
}

struct chunk {
    int64_t index;
    int64_t first_row;
    int64_t rows;
    int32_t slot; // index % streams: whose buffers and stream it uses
};

// Drives the chunks through the slots so that the host stages chunk k + 1 (copies or extracts
// its rows into the slot's pinned buffer) while the device copies and scores chunk k. Backend:
//   int stage(const chunk&)   host side: fill the slot's input buffer
//   int launch(const chunk&)  enqueue copy in, kernel, copy out on the slot's stream
//   int finish(const chunk&)  wait for the slot's stream, deliver the chunk's outputs
// Each returns 0 or a negative status, which stops the pipeline (after waiting for every
// launched chunk, so no buffer is freed under the device).
template <typename Backend> int run_pipeline(Backend& b, const chunk_plan& plan, int64_t n_rows)
{
    if (!plan.fits || plan.streams <= 0)
        return -4;
    std::vector<chunk> in_flight(std::size_t(plan.streams));
    std::vector<bool> busy(std::size_t(plan.streams), false);
    int status = 0;
    for (int64_t k = 0; k < plan.chunks && status == 0; k++) {
        chunk c;
        c.index = k;
        c.first_row = k * plan.chunk_rows;
        c.rows = std::min(plan.chunk_rows, n_rows - c.first_row);
        c.slot = int32_t(k % plan.streams);
        std::size_t s = std::size_t(c.slot);
        if (busy[s]) {
            busy[s] = false;
            if ((status = b.finish(in_flight[s])) != 0)
                break;
        }
        if ((status = b.stage(c)) != 0 || (status = b.launch(c)) != 0)
            break;
        in_flight[s] = c;
        busy[s] = true;
    }
    // Drain in chunk order; after a failure still wait for what was launched.
    for (int64_t k = 0; k < plan.chunks; k++) {
        std::size_t s = std::size_t(k % plan.streams);
        if (busy[s] && in_flight[s].index == k) {
            busy[s] = false;
            int r = b.finish(in_flight[s]);
            if (status == 0)
                status = r;
        }
    }
    return status;
}

} // namespace ai_scale::gpu
