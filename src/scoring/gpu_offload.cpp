// The policy between the scoring code and the GPU module: ai_scale.gpu / gpu_min_batch /
// gpu_library, the breaker, the fallback under auto and the error under on, and the stats.
// State is per backend: the module is dlopened on first use in each backend, never in the
// postmaster (CUDA does not survive fork).
#include "scoring/gpu_offload.hpp"

#include "guc.hpp"
#include "pg/guard.hpp"
#include "scoring/gpu_breaker.hpp"
#include "scoring/gpu_loader.hpp"
#include "scoring/gpu_worth.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
#include "storage/ipc.h"
#include "utils/errcodes.h"
}

#include <csignal>

namespace ai_scale::scoring::gpu_offload {
namespace {

struct backend_state {
    std::string path;                     // resolved library path the state below is for
    const gpu_loader::api* mod = nullptr; // opened module
    int devices = 0;                      // > 0 once init found devices
    std::string reason;                   // why the last attempt failed
    gpu_breaker breaker;
    bool exit_hook = false;
};

backend_state& state()
{
    static backend_state st;
    return st;
}

// Blocks every signal in this backend while a module call runs. The CUDA runtime starts helper
// threads, which inherit the mask of the thread that creates them: with all signals blocked
// there, Postgres's handlers (latch, cancel, die) always run on the backend's own thread.
// Signals that arrive meanwhile stay pending and are delivered when the mask is restored.
class signals_blocked {
  public:
    signals_blocked()
    {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved_);
    }
    ~signals_blocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    signals_blocked(const signals_blocked&) = delete;
    signals_blocked& operator=(const signals_blocked&) = delete;

  private:
    sigset_t saved_;
};

std::string resolved_library()
{
    return gpu_loader::resolve_path(guc::gpu_library ? guc::gpu_library : "", pkglib_path);
}

void exit_hook(int, Datum)
{
    release();
}

// Records a failure: the breaker opens (not for a refused model: the GPU is not sick).
void failed(backend_state& st, std::string reason, bool trip = true)
{
    st.reason = std::move(reason);
    if (trip)
        st.breaker.failure(stats::monotonic_ms());
}

// Opens the module and finds its devices unless that is done for the current path.
const gpu_loader::api* ensure_ready(backend_state& st)
{
    std::string path = resolved_library();
    if (path != st.path) { // a new ai_scale.gpu_library: start afresh
        if (st.mod != nullptr) {
            // The old module's device memory (models, chunk buffers), streams and events,
            // kept to the backend's exit before.
            signals_blocked quiet;
            st.mod->release();
        }
        st.path = path;
        st.mod = nullptr;
        st.devices = 0;
        st.reason.clear();
        st.breaker.success();
    }
    if (st.mod != nullptr && st.devices > 0)
        return st.mod;
    std::string why;
    signals_blocked quiet; // dlopen runs the module's constructors
    if (st.mod == nullptr && (st.mod = gpu_loader::open(path, &why)) == nullptr) {
        failed(st, why);
        return nullptr;
    }
    if (!st.exit_hook) {
        pg::call([] { on_proc_exit(exit_hook, 0); });
        st.exit_hook = true;
    }
    int n = st.mod->init();
    if (n <= 0) {
        failed(st, std::string(gpu_loader::status_text(n)) + ": " + st.mod->last_error());
        return nullptr;
    }
    st.devices = n;
    st.reason.clear();
    return st.mod;
}

ai_scale_gpu_model to_abi(const model_ref& m)
{
    ai_scale_gpu_model d{};
    d.name = m.name;
    d.version = m.version;
    d.fingerprint = m.fingerprint;
    d.kind = int32_t(m.kind);
    // The linear view's own flag decides, as it does on the CPU path.
    if (m.kind == model_kind::linear || m.kind == model_kind::logistic)
        d.kind = m.linear.logistic ? AI_SCALE_GPU_LOGISTIC : AI_SCALE_GPU_LINEAR;
    d.n_features = m.n_features;
    d.n_outputs = m.n_outputs;
    d.linear_weights = m.linear.weights;
    d.linear_bias = m.linear.bias;
    d.mlp_layers = m.mlp.n_layers;
    d.mlp_sizes = m.mlp.sizes;
    d.mlp_weights = m.mlp.weights;
    d.mlp_weights_len = m.mlp_weights_len;
    d.mlp_biases = m.mlp.biases;
    d.mlp_biases_len = m.mlp_biases_len;
    d.mlp_activations = m.mlp.activations;
    d.gbdt_nodes = m.gbdt_nodes;
    d.gbdt_feature = m.gbdt.feature;
    d.gbdt_value = m.gbdt.value;
    d.gbdt_left = m.gbdt.left;
    d.gbdt_default_left = m.gbdt.default_left;
    d.gbdt_tree_root = m.gbdt.tree_root;
    d.gbdt_trees = m.gbdt.n_trees;
    d.gbdt_base_margin = m.gbdt.base_margin;
    d.gbdt_logistic = m.gbdt.logistic ? 1 : 0;
    return d;
}

// The reason (as gpu_info() shows it) as a DETAIL: a sentence, capitalized, with its period.
std::string as_sentence(std::string s)
{
    if (!s.empty() && s[0] >= 'a' && s[0] <= 'z')
        s[0] = char(s[0] - 'a' + 'A');
    if (!s.empty() && s.back() != '.')
        s += '.';
    return s;
}

// Under on: the documented error. Under auto: counted, and the CPU path takes the batch.
bool fall_back(const std::string& reason)
{
    if (guc::gpu_mode == guc::gpu_on)
        throw pg::error(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "could not score the batch on the GPU", as_sentence(reason),
                        "Set ai_scale.gpu to auto to score on the CPU when the GPU is unavailable; "
                        "ai_scale.gpu_info() shows what was found.");
    stats::add(stats::counter::gpu_fallbacks);
    return false;
}

// Runs one batch through the module: call(mod, desc) does the scoring call.
template <typename Call> bool run_batch(const model_ref& model, int64_t n_rows, Call&& call)
{
    if (guc::gpu_mode == guc::gpu_off || n_rows < guc::gpu_min_batch || n_rows <= 0)
        return false;
    bool required = guc::gpu_mode == guc::gpu_on;
    if (!required && !worth_the_gpu(model.kind, model.n_features, model.mlp_weights_len,
                                    model.gbdt.n_trees, model.gbdt_nodes))
        return false; // faster on the CPU: a choice, not a fallback
    backend_state& st = state();
    if (!required && resolved_library() == st.path && !st.breaker.allow(stats::monotonic_ms()))
        return fall_back(st.reason);
    const gpu_loader::api* mod = ensure_ready(st);
    if (mod == nullptr)
        return fall_back(st.reason);

    ai_scale_gpu_model desc = to_abi(model);
    uint64_t t0 = stats::now_ns();
    int r;
    {
        signals_blocked quiet;
        r = call(mod, desc);
    }
    if (r == AI_SCALE_GPU_FILL_FAILED)
        return false; // the caller's extraction failed: its error, not the GPU's
    if (r != AI_SCALE_GPU_OK) {
        failed(st, std::string(gpu_loader::status_text(r)) + ": " + mod->last_error(),
               r != AI_SCALE_GPU_BAD_ARGUMENT);
        if (r == AI_SCALE_GPU_NO_DRIVER || r == AI_SCALE_GPU_NO_DEVICE)
            st.devices = 0; // find the devices again when the breaker lets us
        return fall_back(st.reason);
    }
    st.breaker.success();
    uint64_t ns = stats::now_ns() - t0;
    stats::add(stats::counter::rows_scored_gpu, uint64_t(n_rows));
    stats::add(stats::counter::score_gpu_ns, ns);
    stats::record(stats::timer::score, ns); // a batch's latency, whichever processor scored it
    return true;
}

struct extract_call {
    extract_fn extract;
    void* ctx;
    static int fill(void* self, int64_t first_row, int64_t n_rows, float* dst)
    {
        auto* c = static_cast<extract_call*>(self);
        return c->extract(c->ctx, first_row, n_rows, dst) ? 0 : 1;
    }
};

} // namespace

bool score(const model_ref& model, const float* rows, int64_t n_rows, float* out)
{
    return run_batch(model, n_rows,
                     [&](const gpu_loader::api* mod, const ai_scale_gpu_model& desc) {
                         return mod->score(&desc, rows, n_rows, out, nullptr);
                     });
}

bool score_streamed(const model_ref& model, int64_t n_rows, extract_fn extract, void* ctx,
                    float* out)
{
    extract_call c{extract, ctx};
    return run_batch(
        model, n_rows, [&](const gpu_loader::api* mod, const ai_scale_gpu_model& desc) {
            return mod->score_fill(&desc, n_rows, &extract_call::fill, &c, out, nullptr);
        });
}

status probe()
{
    backend_state& st = state();
    status s;
    // Under off, what is loaded is shown and nothing is loaded: gpu_info() is any role's, and on
    // a GPU host a load makes a CUDA context in the caller's backend, where the DBA turned the
    // GPU path off.
    const bool off = guc::gpu_mode == guc::gpu_off;
    const gpu_loader::api* mod = off ? (st.devices > 0 ? st.mod : nullptr) : ensure_ready(st);
    s.library = off && st.mod == nullptr ? resolved_library() : st.path;
    s.loaded = st.mod != nullptr;
    if (mod != nullptr) {
        std::vector<ai_scale_gpu_device> devs(static_cast<size_t>(st.devices));
        int n;
        {
            signals_blocked quiet;
            n = mod->describe(devs.data(), st.devices);
        }
        if (n < 0) {
            failed(st, std::string(gpu_loader::status_text(n)) + ": " + mod->last_error());
            st.devices = 0;
            mod = nullptr;
        }
        for (int i = 0; i < n; i++)
            s.devices.push_back({devs[size_t(i)].ordinal, devs[size_t(i)].name,
                                 devs[size_t(i)].compute_major, devs[size_t(i)].compute_minor,
                                 int64_t(devs[size_t(i)].total_bytes),
                                 int64_t(devs[size_t(i)].free_bytes), devs[size_t(i)].chosen != 0});
    }
    uint64_t now = stats::monotonic_ms();
    if (guc::gpu_mode == guc::gpu_off) {
        s.reason = "ai_scale.gpu is off";
    } else if (mod == nullptr) {
        s.reason = st.reason;
    } else if (!st.breaker.allow(now)) {
        char buf[64];
        snprintf(buf, sizeof(buf), "; retried in %llu ms",
                 (unsigned long long)st.breaker.retry_in_ms(now));
        s.reason = "the GPU failed recently: " + st.reason + buf;
    } else {
        s.live = true;
        std::string chosen;
        for (const device_info& d : s.devices)
            if (d.chosen)
                chosen = " (device " + std::to_string(d.ordinal) + ", " + d.name + ")";
        s.reason = "live: batches of at least " + std::to_string(guc::gpu_min_batch) +
                   " rows are scored on the GPU" + chosen;
        if (guc::gpu_mode != guc::gpu_on)
            s.reason += ", for models doing at least " + std::to_string(gpu_min_work_per_feature) +
                        " operations per feature (never linear or logistic)";
    }
    return s;
}

void release()
{
    backend_state& st = state();
    if (st.mod != nullptr) {
        signals_blocked quiet;
        st.mod->release();
    }
}

} // namespace ai_scale::scoring::gpu_offload
