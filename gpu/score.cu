// Models kept on the device, chunked scoring through pinned buffers on several streams, and the
// measurements gpu/check.sh reports.
#include "ai_scale_gpu.h"
#include "chunk_plan.hpp"
#include "errors.hpp"
#include "kernels.cuh"
#include "model_check.hpp"
#include "module_state.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace ai_scale::gpu {
namespace {

static_assert(int(scoring::model_kind::linear) == AI_SCALE_GPU_LINEAR);
static_assert(int(scoring::model_kind::logistic) == AI_SCALE_GPU_LOGISTIC);
static_assert(int(scoring::model_kind::mlp) == AI_SCALE_GPU_MLP);
static_assert(int(scoring::model_kind::gbdt) == AI_SCALE_GPU_GBDT);

constexpr size_t max_models = 16;

// One model on the device: all its arrays in one allocation, and views over them.
struct device_model {
    std::string name;
    int32_t version = 0;
    uint64_t fingerprint = 0;
    int32_t kind = 0;
    int32_t n_features = 0;
    int32_t n_outputs = 0;
    void* blob = nullptr;
    size_t bytes = 0;
    uint64_t last_used = 0;
    scoring::linear_view linear{};
    scoring::mlp_view mlp{};
    scoring::gbdt_view gbdt{};
    ~device_model() { cudaFree(blob); }
};

// A stream with its buffers: device input/output and pinned staging for both.
struct slot {
    cudaStream_t stream = nullptr;
    cudaEvent_t kernel_start = nullptr, kernel_end = nullptr, done = nullptr;
    float* d_in = nullptr;
    float* d_out = nullptr;
    float* h_in = nullptr;
    float* h_out = nullptr;
    size_t in_bytes = 0, out_bytes = 0;
};

struct pinned_range {
    const char* begin;
    size_t bytes;
};

std::vector<std::unique_ptr<device_model>> models;
std::vector<slot> slots;
cudaEvent_t pipeline_start = nullptr;
std::vector<pinned_range> pinned; // from ai_scale_gpu_host_alloc
uint64_t clock_tick = 0;

bool is_pinned(const void* p, size_t bytes)
{
    auto c = static_cast<const char*>(p);
    for (const pinned_range& r : pinned)
        if (c >= r.begin && c + bytes <= r.begin + r.bytes)
            return true;
    return false;
}

void free_slot_buffers()
{
    for (slot& s : slots) {
        cudaFree(s.d_in);
        cudaFree(s.d_out);
        cudaFreeHost(s.h_in);
        cudaFreeHost(s.h_out);
        s.d_in = s.d_out = s.h_in = s.h_out = nullptr;
        s.in_bytes = s.out_bytes = 0;
    }
}

// Frees every model but `keep` (memory is short).
void evict_models(const device_model* keep)
{
    models.erase(
        std::remove_if(models.begin(), models.end(),
                       [&](const std::unique_ptr<device_model>& m) { return m.get() != keep; }),
        models.end());
}

size_t align_up(size_t n)
{
    return (n + 255) & ~size_t(255);
}

struct blob_builder {
    std::vector<char> host;
    template <typename T> size_t add(const T* src, int64_t count)
    {
        size_t at = align_up(host.size());
        host.resize(at + size_t(count) * sizeof(T));
        std::memcpy(host.data() + at, src, size_t(count) * sizeof(T));
        return at;
    }
};

// The model's copy on the device when it is there and current, marked as used; else nullptr,
// and an older version (or one with changed parameters) is freed.
device_model* find_uploaded(const ai_scale_gpu_model& m)
{
    for (auto it = models.begin(); it != models.end(); ++it) {
        device_model& d = **it;
        if (d.name != m.name)
            continue;
        if (d.version == m.version && d.fingerprint == m.fingerprint) {
            d.last_used = ++clock_tick;
            return &d;
        }
        models.erase(it); // an older version or changed parameters
        break;
    }
    return nullptr;
}

// Frees the least recently used model when max_models are on the device.
void make_room_for_model()
{
    if (models.size() >= max_models) {
        auto lru = std::min_element(models.begin(), models.end(), [](const auto& a, const auto& b) {
            return a->last_used < b->last_used;
        });
        models.erase(lru);
    }
}

// Where each of a model's arrays lies in its blob.
struct blob_offsets {
    size_t w = 0, sizes = 0, mw = 0, mb = 0, act = 0;
    size_t feat = 0, val = 0, left = 0, dl = 0, root = 0;
};

// The model's arrays, packed into b.
blob_offsets pack_arrays(const ai_scale_gpu_model& m, blob_builder& b)
{
    blob_offsets o;
    switch (m.kind) {
    case AI_SCALE_GPU_LINEAR:
    case AI_SCALE_GPU_LOGISTIC:
        o.w = b.add(m.linear_weights, m.n_features);
        break;
    case AI_SCALE_GPU_MLP:
        o.sizes = b.add(m.mlp_sizes, m.mlp_layers + 1);
        o.mw = b.add(m.mlp_weights, m.mlp_weights_len);
        o.mb = b.add(m.mlp_biases, m.mlp_biases_len);
        o.act = b.add(m.mlp_activations, m.mlp_layers);
        break;
    case AI_SCALE_GPU_GBDT:
        o.feat = b.add(m.gbdt_feature, m.gbdt_nodes);
        o.val = b.add(m.gbdt_value, m.gbdt_nodes);
        o.left = b.add(m.gbdt_left, m.gbdt_nodes);
        o.dl = b.add(m.gbdt_default_left, m.gbdt_nodes);
        o.root = b.add(m.gbdt_tree_root, m.gbdt_trees);
        break;
    }
    return o;
}

// Allocates d's blob, after freeing every cached model and slot buffer if memory is short, and
// copies host into it.
int copy_blob(device_model& d, const std::vector<char>& host)
{
    d.bytes = host.size();
    cudaError_t err = cudaMalloc(&d.blob, d.bytes);
    if (err == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        evict_models(nullptr);
        free_slot_buffers();
        err = cudaMalloc(&d.blob, d.bytes);
    }
    if (err != cudaSuccess) {
        d.blob = nullptr;
        return fail(status_of(err), "upload: cudaMalloc", err);
    }
    GPU_CHECK(cudaMemcpy(d.blob, host.data(), d.bytes, cudaMemcpyHostToDevice),
              "upload: cudaMemcpy");
    return AI_SCALE_GPU_OK;
}

// d's views over its blob, whose arrays lie at o.
void bind_views(const ai_scale_gpu_model& m, const blob_offsets& o, device_model& d)
{
    auto at = [&](size_t off) { return static_cast<char*>(d.blob) + off; };
    switch (m.kind) {
    case AI_SCALE_GPU_LINEAR:
    case AI_SCALE_GPU_LOGISTIC:
        d.linear = {reinterpret_cast<const float*>(at(o.w)), m.linear_bias, m.n_features,
                    m.kind == AI_SCALE_GPU_LOGISTIC};
        break;
    case AI_SCALE_GPU_MLP:
        d.mlp = {m.mlp_layers, reinterpret_cast<const int32_t*>(at(o.sizes)),
                 reinterpret_cast<const float*>(at(o.mw)), reinterpret_cast<const float*>(at(o.mb)),
                 reinterpret_cast<const int32_t*>(at(o.act))};
        break;
    case AI_SCALE_GPU_GBDT:
        d.gbdt = {reinterpret_cast<const int32_t*>(at(o.feat)),
                  reinterpret_cast<const float*>(at(o.val)),
                  reinterpret_cast<const int32_t*>(at(o.left)),
                  reinterpret_cast<const uint8_t*>(at(o.dl)),
                  reinterpret_cast<const int32_t*>(at(o.root)),
                  m.gbdt_trees,
                  m.gbdt_base_margin,
                  m.gbdt_logistic != 0};
        break;
    }
}

int upload_locked(const ai_scale_gpu_model& m, device_model** result)
{
    if (const char* why = check_model(m))
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, why);
    if (device_model* found = find_uploaded(m)) {
        *result = found;
        return AI_SCALE_GPU_OK;
    }
    make_room_for_model();
    auto d = std::make_unique<device_model>();
    d->name = m.name;
    d->version = m.version;
    d->fingerprint = m.fingerprint;
    d->kind = m.kind;
    d->n_features = m.n_features;
    d->n_outputs = m.n_outputs;
    blob_builder b;
    const blob_offsets o = pack_arrays(m, b);
    int r = copy_blob(*d, b.host);
    if (r != AI_SCALE_GPU_OK)
        return r;
    bind_views(m, o, *d);
    d->last_used = ++clock_tick;
    models.push_back(std::move(d));
    *result = models.back().get();
    return AI_SCALE_GPU_OK;
}

// The device, with the model on it (uploaded when it is not there yet, *d its copy): the
// device's number, or a negative status.
int model_on_device(const ai_scale_gpu_model& m, device_model** d)
{
    int dev = ensure_device();
    if (dev < 0)
        return dev;
    int r = upload_locked(m, d);
    return r != AI_SCALE_GPU_OK ? r : dev;
}

// What the kernels leave to the host, on n rows of scores at out (host memory).
void finish_on_host(const device_model& d, float* out, int64_t n)
{
    if (d.kind == AI_SCALE_GPU_GBDT)
        finish_gbdt_on_host(d.gbdt.logistic, out, n);
}

// Enqueues the kernel for n rows at x (device) into out (device) on stream.
int launch_kernel(const device_model& d, const float* x, int64_t n, float* out, cudaStream_t stream)
{
    if (n <= 0)
        return AI_SCALE_GPU_OK;
    bool staged = d.n_features <= max_staged_features;
    size_t shared = staged ? size_t(block_rows) * size_t(d.n_features + 1) * sizeof(float) : 0;
    auto blocks = unsigned((n + block_rows - 1) / block_rows);
    (void)cudaGetLastError(); // a handled allocation failure must not be taken for the kernel's
    switch (d.kind) {
    case AI_SCALE_GPU_LINEAR:
    case AI_SCALE_GPU_LOGISTIC:
        score_rows<<<blocks, block_rows, shared, stream>>>(linear_scorer{d.linear}, x, n,
                                                           d.n_features, d.n_outputs, out, staged);
        break;
    case AI_SCALE_GPU_MLP:
        score_rows<<<blocks, block_rows, shared, stream>>>(mlp_scorer{d.mlp}, x, n, d.n_features,
                                                           d.n_outputs, out, staged);
        break;
    case AI_SCALE_GPU_GBDT:
        score_rows<<<blocks, block_rows, shared, stream>>>(gbdt_scorer{d.gbdt}, x, n, d.n_features,
                                                           d.n_outputs, out, staged);
        break;
    }
    GPU_CHECK(cudaGetLastError(), "kernel launch");
    return AI_SCALE_GPU_OK;
}

int ensure_events()
{
    if (pipeline_start == nullptr)
        GPU_CHECK(cudaEventCreate(&pipeline_start), "cudaEventCreate");
    return AI_SCALE_GPU_OK;
}

// Replaces a slot's device buffer and its pinned host twin by larger ones when they hold fewer
// than need bytes.
int grow_buffers(float*& device, float*& host, size_t& have, size_t need, const char* what_device,
                 const char* what_host)
{
    if (have >= need)
        return AI_SCALE_GPU_OK;
    cudaFree(device);
    cudaFreeHost(host);
    device = host = nullptr;
    have = 0;
    GPU_CHECK(cudaMalloc(&device, need), what_device);
    GPU_CHECK(cudaHostAlloc(&host, need, cudaHostAllocDefault), what_host);
    have = need;
    return AI_SCALE_GPU_OK;
}

// A new slot's stream and events, all made or none: a slot kept with an event that failed to be
// made (null) failed every later batch of the backend on that event ("invalid resource handle").
int make_slot(slot& s)
{
    cudaError_t err = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking);
    const char* what = "cudaStreamCreate";
    if (err == cudaSuccess) {
        what = "cudaEventCreate";
        err = cudaEventCreate(&s.kernel_start);
    }
    if (err == cudaSuccess)
        err = cudaEventCreate(&s.kernel_end);
    if (err == cudaSuccess)
        err = cudaEventCreate(&s.done);
    if (err == cudaSuccess)
        return AI_SCALE_GPU_OK;
    for (cudaEvent_t e : {s.kernel_start, s.kernel_end, s.done})
        if (e != nullptr)
            cudaEventDestroy(e);
    if (s.stream != nullptr)
        cudaStreamDestroy(s.stream);
    s = slot{};
    return fail(status_of(err), what, err);
}

// Makes `count` slots with buffers for chunk_rows rows each.
int ensure_slots(int count, size_t in_bytes, size_t out_bytes)
{
    while (int(slots.size()) < count) {
        slot s;
        const int rc = make_slot(s);
        if (rc != AI_SCALE_GPU_OK)
            return rc;
        slots.push_back(s);
    }
    for (int i = 0; i < count; i++) {
        slot& s = slots[size_t(i)];
        int rc = grow_buffers(s.d_in, s.h_in, s.in_bytes, in_bytes, "cudaMalloc (chunk input)",
                              "cudaHostAlloc (chunk input)");
        if (rc == AI_SCALE_GPU_OK)
            rc = grow_buffers(s.d_out, s.h_out, s.out_bytes, out_bytes, "cudaMalloc (chunk output)",
                              "cudaHostAlloc (chunk output)");
        if (rc != AI_SCALE_GPU_OK)
            return rc;
    }
    return AI_SCALE_GPU_OK;
}

// run_pipeline's backend on the device.
struct cuda_backend {
    const device_model& m;
    const float* rows; // null when fill produces them
    float* out;
    bool pinned_in;
    bool pinned_out;
    ai_scale_gpu_fill_fn fill = nullptr;
    void* fill_ctx = nullptr;
    double kernel_ms = 0;

    size_t in_floats(const chunk& c) const { return size_t(c.rows) * size_t(m.n_features); }
    size_t out_floats(const chunk& c) const { return size_t(c.rows) * size_t(m.n_outputs); }

    int stage(const chunk& c)
    {
        if (fill != nullptr)
            return fill(fill_ctx, c.first_row, c.rows, slots[size_t(c.slot)].h_in) == 0
                       ? AI_SCALE_GPU_OK
                       : ai_scale::gpu::fail(AI_SCALE_GPU_FILL_FAILED,
                                             "the fill callback stopped the batch");
        if (!pinned_in)
            std::memcpy(slots[size_t(c.slot)].h_in, rows + c.first_row * m.n_features,
                        in_floats(c) * sizeof(float));
        return AI_SCALE_GPU_OK;
    }

    int launch(const chunk& c)
    {
        slot& s = slots[size_t(c.slot)];
        const float* src = pinned_in ? rows + c.first_row * m.n_features : s.h_in;
        float* dst = pinned_out ? out + c.first_row * m.n_outputs : s.h_out;
        GPU_CHECK(cudaMemcpyAsync(s.d_in, src, in_floats(c) * sizeof(float), cudaMemcpyHostToDevice,
                                  s.stream),
                  "cudaMemcpyAsync (rows to device)");
        GPU_CHECK(cudaEventRecord(s.kernel_start, s.stream), "cudaEventRecord");
        int r = launch_kernel(m, s.d_in, c.rows, s.d_out, s.stream);
        if (r != AI_SCALE_GPU_OK)
            return r;
        GPU_CHECK(cudaEventRecord(s.kernel_end, s.stream), "cudaEventRecord");
        GPU_CHECK(cudaMemcpyAsync(dst, s.d_out, out_floats(c) * sizeof(float),
                                  cudaMemcpyDeviceToHost, s.stream),
                  "cudaMemcpyAsync (scores to host)");
        GPU_CHECK(cudaEventRecord(s.done, s.stream), "cudaEventRecord");
        return AI_SCALE_GPU_OK;
    }

    int finish(const chunk& c)
    {
        slot& s = slots[size_t(c.slot)];
        GPU_CHECK(cudaEventSynchronize(s.done), "chunk (copy, kernel, copy back)");
        float ms = 0;
        GPU_CHECK(cudaEventElapsedTime(&ms, s.kernel_start, s.kernel_end), "cudaEventElapsedTime");
        kernel_ms += ms;
        if (!pinned_out)
            std::memcpy(out + c.first_row * m.n_outputs, s.h_out, out_floats(c) * sizeof(float));
        return AI_SCALE_GPU_OK;
    }
};

// Plans the chunks of n_rows rows in the free device memory (the slot buffers held count as
// free) and makes the slots for them; when they do not fit, frees the other models and the slot
// buffers and tries once more.
int fit_chunks(const device_model& d, int64_t n_rows, int64_t row_in, int64_t row_out,
               chunk_plan* plan)
{
    for (int attempt = 0;; attempt++) {
        size_t free_bytes = 0, total_bytes = 0;
        GPU_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
        for (const slot& s : slots) // buffers we hold are ours to resize
            free_bytes += s.in_bytes + s.out_bytes;
        *plan = plan_chunks(n_rows, row_in, row_out, int64_t(free_bytes));
        int r = AI_SCALE_GPU_OK;
        if (plan->fits) {
            r = ensure_slots(plan->streams, size_t(plan->chunk_rows * row_in),
                             size_t(plan->chunk_rows * row_out));
            if (r == AI_SCALE_GPU_OK)
                return r;
            if (r != AI_SCALE_GPU_OUT_OF_MEMORY)
                return r;
        }
        if (attempt == 1)
            return plan->fits
                       ? r
                       : fail(AI_SCALE_GPU_OUT_OF_MEMORY, "not enough device memory for one chunk");
        (void)cudaGetLastError();
        evict_models(&d);
        free_slot_buffers();
    }
}

// What a scoring took, for the caller's timing.
int report_timing(const chunk_plan& plan, const cuda_backend& b, int dev,
                  ai_scale_gpu_timing* timing)
{
    double pipeline_ms = 0;
    for (int i = 0; i < plan.streams; i++) {
        float ms = 0;
        GPU_CHECK(cudaEventElapsedTime(&ms, pipeline_start, slots[size_t(i)].done),
                  "cudaEventElapsedTime");
        pipeline_ms = std::max(pipeline_ms, double(ms));
    }
    timing->pipeline_ms = pipeline_ms;
    timing->kernel_ms = b.kernel_ms;
    timing->chunk_rows = plan.chunk_rows;
    timing->chunks = int32_t(plan.chunks);
    timing->streams = plan.streams;
    timing->device = dev;
    timing->pinned_input = b.pinned_in ? 1 : 0;
    return AI_SCALE_GPU_OK;
}

int score_locked(const ai_scale_gpu_model& model, const float* rows, ai_scale_gpu_fill_fn fill,
                 void* fill_ctx, int64_t n_rows, float* out, ai_scale_gpu_timing* timing)
{
    device_model* d = nullptr;
    int dev = model_on_device(model, &d);
    if (dev < 0)
        return dev;
    int r;
    if ((r = ensure_events()) != AI_SCALE_GPU_OK)
        return r;
    int64_t row_in = int64_t(d->n_features) * 4, row_out = int64_t(d->n_outputs) * 4;
    chunk_plan plan;
    if ((r = fit_chunks(*d, n_rows, row_in, row_out, &plan)) != AI_SCALE_GPU_OK)
        return r;
    cuda_backend b{*d,
                   rows,
                   out,
                   rows != nullptr && is_pinned(rows, size_t(n_rows * row_in)),
                   is_pinned(out, size_t(n_rows * row_out)),
                   fill,
                   fill_ctx};
    GPU_CHECK(cudaEventRecord(pipeline_start, slots[0].stream), "cudaEventRecord");
    r = run_pipeline(b, plan, n_rows);
    if (r != AI_SCALE_GPU_OK)
        return r == -4 ? fail(r, "pipeline: no plan") : r;
    finish_on_host(*d, out, n_rows);
    if (timing != nullptr && (r = report_timing(plan, b, dev, timing)) != AI_SCALE_GPU_OK)
        return r;
    clear_error();
    return AI_SCALE_GPU_OK;
}

// ai_scale_gpu_score and ai_scale_gpu_score_fill, their arguments checked: the timing zeroed,
// nothing to do for no rows, else a scoring under the module's lock.
int score_checked(const ai_scale_gpu_model& model, const float* rows, ai_scale_gpu_fill_fn fill,
                  void* fill_ctx, int64_t n_rows, float* out, ai_scale_gpu_timing* timing)
{
    if (timing != nullptr)
        *timing = ai_scale_gpu_timing{};
    if (n_rows == 0)
        return AI_SCALE_GPU_OK;
    std::lock_guard<std::mutex> lock(module_mutex());
    return score_locked(model, rows, fill, fill_ctx, n_rows, out, timing);
}

// f(), with no C++ exception leaving the module: host memory running out (the host copy of a
// large tree model, a vector of chunks) is AI_SCALE_GPU_OUT_OF_MEMORY, which the extension
// answers as any failed batch (under auto the CPU scores it). It reached the backend as an
// exception, and failed the query with 53200 where the CPU would have scored it.
template <typename F> int without_exceptions(const char* what, F&& f) noexcept
{
    char message[256];
    try {
        return f();
    } catch (const std::bad_alloc&) {
        std::snprintf(message, sizeof message, "%s: out of host memory", what);
        return fail(AI_SCALE_GPU_OUT_OF_MEMORY, message);
    } catch (const std::exception& e) {
        std::snprintf(message, sizeof message, "%s: %s", what, e.what());
    } catch (...) {
        std::snprintf(message, sizeof message, "%s: an unknown exception", what);
    }
    return fail(AI_SCALE_GPU_CUDA_ERROR, message);
}

} // namespace
} // namespace ai_scale::gpu

using namespace ai_scale::gpu;

extern "C" int ai_scale_gpu_score(const struct ai_scale_gpu_model* model, const float* rows,
                                  int64_t n_rows, float* out, struct ai_scale_gpu_timing* timing)
{
    if (model == nullptr || rows == nullptr || out == nullptr || n_rows < 0)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "score: null argument or negative row count");
    return without_exceptions("score", [&] {
        return score_checked(*model, rows, nullptr, nullptr, n_rows, out, timing);
    });
}

extern "C" int ai_scale_gpu_score_fill(const struct ai_scale_gpu_model* model, int64_t n_rows,
                                       ai_scale_gpu_fill_fn fill, void* ctx, float* out,
                                       struct ai_scale_gpu_timing* timing)
{
    if (model == nullptr || fill == nullptr || out == nullptr || n_rows < 0)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "score_fill: null argument or negative row count");
    return without_exceptions("score_fill", [&] {
        return score_checked(*model, nullptr, fill, ctx, n_rows, out, timing);
    });
}

extern "C" void* ai_scale_gpu_host_alloc(size_t bytes)
{
    std::lock_guard<std::mutex> lock(module_mutex());
    if (ensure_device() < 0)
        return nullptr;
    void* p = nullptr;
    cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
    if (err != cudaSuccess) {
        fail(status_of(err), "cudaHostAlloc", err);
        return nullptr;
    }
    pinned.push_back({static_cast<const char*>(p), bytes});
    return p;
}

extern "C" void ai_scale_gpu_host_free(void* p)
{
    if (p == nullptr)
        return;
    std::lock_guard<std::mutex> lock(module_mutex());
    pinned.erase(std::remove_if(pinned.begin(), pinned.end(),
                                [&](const pinned_range& r) { return r.begin == p; }),
                 pinned.end());
    cudaFreeHost(p);
}

extern "C" int ai_scale_gpu_bench_kernel(const struct ai_scale_gpu_model* model, const float* rows,
                                         int64_t n_rows, int reps, float* out, double* ms_per_run)
{
    if (model == nullptr || rows == nullptr || out == nullptr || n_rows <= 0 || reps <= 0 ||
        ms_per_run == nullptr)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "bench_kernel: bad argument");
    std::lock_guard<std::mutex> lock(module_mutex());
    device_model* d = nullptr;
    int dev = model_on_device(*model, &d);
    if (dev < 0)
        return dev;
    size_t in_bytes = size_t(n_rows) * size_t(d->n_features) * 4;
    size_t out_bytes = size_t(n_rows) * size_t(d->n_outputs) * 4;
    free_slot_buffers(); // make room for the whole matrix
    float *d_in = nullptr, *d_out = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    auto cleanup = [&] {
        cudaFree(d_in);
        cudaFree(d_out);
        if (start)
            cudaEventDestroy(start);
        if (stop)
            cudaEventDestroy(stop);
    };
    cudaError_t err;
    if ((err = cudaMalloc(&d_in, in_bytes)) != cudaSuccess ||
        (err = cudaMalloc(&d_out, out_bytes)) != cudaSuccess ||
        (err = cudaEventCreate(&start)) != cudaSuccess ||
        (err = cudaEventCreate(&stop)) != cudaSuccess ||
        (err = cudaMemcpy(d_in, rows, in_bytes, cudaMemcpyHostToDevice)) != cudaSuccess ||
        (err = cudaMemset(d_out, 0xff, out_bytes)) != cudaSuccess) {
        cleanup();
        return fail(status_of(err), "bench_kernel: allocate and copy", err);
    }
    int r = launch_kernel(*d, d_in, n_rows, d_out, nullptr); // warm-up
    if (r == AI_SCALE_GPU_OK && (err = cudaDeviceSynchronize()) != cudaSuccess)
        r = fail(status_of(err), "bench_kernel: warm-up", err);
    if (r == AI_SCALE_GPU_OK && (err = cudaEventRecord(start)) != cudaSuccess)
        r = fail(status_of(err), "cudaEventRecord", err);
    for (int i = 0; i < reps && r == AI_SCALE_GPU_OK; i++)
        r = launch_kernel(*d, d_in, n_rows, d_out, nullptr);
    float ms = 0;
    if (r == AI_SCALE_GPU_OK &&
        ((err = cudaEventRecord(stop)) != cudaSuccess ||
         (err = cudaEventSynchronize(stop)) != cudaSuccess ||
         (err = cudaEventElapsedTime(&ms, start, stop)) != cudaSuccess ||
         (err = cudaMemcpy(out, d_out, out_bytes, cudaMemcpyDeviceToHost)) != cudaSuccess))
        r = fail(status_of(err), "bench_kernel: run", err);
    cleanup();
    if (r == AI_SCALE_GPU_OK) {
        finish_on_host(*d, out, n_rows);
        *ms_per_run = double(ms) / reps;
        clear_error();
    }
    return r;
}

extern "C" int ai_scale_gpu_bandwidth(size_t bytes, double* h2d_gbps, double* d2h_gbps,
                                      double* d2d_gbps)
{
    if (bytes == 0 || h2d_gbps == nullptr || d2h_gbps == nullptr || d2d_gbps == nullptr)
        return fail(AI_SCALE_GPU_BAD_ARGUMENT, "bandwidth: bad argument");
    std::lock_guard<std::mutex> lock(module_mutex());
    int dev = ensure_device();
    if (dev < 0)
        return dev;
    void *h = nullptr, *d1 = nullptr, *d2 = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    auto cleanup = [&] {
        cudaFreeHost(h);
        cudaFree(d1);
        cudaFree(d2);
        if (e0)
            cudaEventDestroy(e0);
        if (e1)
            cudaEventDestroy(e1);
    };
    const int reps = 5;
    float ms[3] = {0, 0, 0};
    cudaError_t err;
    if ((err = cudaHostAlloc(&h, bytes, cudaHostAllocDefault)) != cudaSuccess ||
        (err = cudaMalloc(&d1, bytes)) != cudaSuccess ||
        (err = cudaMalloc(&d2, bytes)) != cudaSuccess ||
        (err = cudaEventCreate(&e0)) != cudaSuccess ||
        (err = cudaEventCreate(&e1)) != cudaSuccess) {
        cleanup();
        return fail(status_of(err), "bandwidth: allocate", err);
    }
    std::memset(h, 1, bytes);
    for (int kind = 0; kind < 3; kind++) {
        // One untimed copy, then reps timed ones.
        for (int i = 0; i <= reps; i++) {
            if (i == 1 && (err = cudaEventRecord(e0)) != cudaSuccess)
                break;
            err = kind == 0   ? cudaMemcpyAsync(d1, h, bytes, cudaMemcpyHostToDevice)
                  : kind == 1 ? cudaMemcpyAsync(h, d1, bytes, cudaMemcpyDeviceToHost)
                              : cudaMemcpyAsync(d2, d1, bytes, cudaMemcpyDeviceToDevice);
            if (err != cudaSuccess)
                break;
        }
        if (err != cudaSuccess || (err = cudaEventRecord(e1)) != cudaSuccess ||
            (err = cudaEventSynchronize(e1)) != cudaSuccess ||
            (err = cudaEventElapsedTime(&ms[kind], e0, e1)) != cudaSuccess) {
            cleanup();
            return fail(status_of(err), "bandwidth: copy", err);
        }
    }
    cleanup();
    double gb = double(bytes) * reps / 1e9;
    *h2d_gbps = gb / (ms[0] / 1e3);
    *d2h_gbps = gb / (ms[1] / 1e3);
    *d2d_gbps = 2 * gb / (ms[2] / 1e3); // read and write
    clear_error();
    return AI_SCALE_GPU_OK;
}

extern "C" void ai_scale_gpu_release(void)
{
    std::lock_guard<std::mutex> lock(module_mutex());
    models.clear();
    free_slot_buffers();
    for (slot& s : slots) {
        cudaEventDestroy(s.kernel_start);
        cudaEventDestroy(s.kernel_end);
        cudaEventDestroy(s.done);
        cudaStreamDestroy(s.stream);
    }
    slots.clear();
    if (pipeline_start != nullptr)
        cudaEventDestroy(pipeline_start);
    pipeline_start = nullptr;
}
