#include "scoring/model.hpp"
#include "scoring/interruption.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>

namespace ai_scale::scoring {

uint64_t fnv(uint64_t h, const void* data, size_t n)
{
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

namespace {

[[noreturn]] void fail(std::string message, std::string detail = {})
{
    throw model_error(std::move(message), std::move(detail));
}

float finite_float(const json::value& v, const std::string& where)
{
    if (!v.is_number())
        fail(where + " must be a number",
             std::string("It is a JSON ") + json::type_name(v.t) + ".");
    // The float nearest the text, as XGBoost reads a model's numbers and import_xgboost writes
    // them (json::value::num_float): the float of the nearest double differs where that double
    // lies half way between two floats. 3.4028235e38, FLT_MAX's shortest text (as float4 and
    // XGBoost write it), lies just above FLT_MAX and still rounds to it.
    if (!std::isfinite(v.num) || std::isinf(v.num_float))
        fail(where + " must be a finite float4 value");
    return v.num_float;
}

const json::value& member(const json::value& obj, const char* key, const std::string& what)
{
    const json::value* v = obj.find(key);
    if (v == nullptr)
        fail(what + " lacks \"" + key + "\"");
    return *v;
}

std::vector<float> float_array(const json::value& v, const std::string& where, size_t expect)
{
    if (!v.is_array())
        fail(where + " must be an array of numbers",
             std::string("It is a JSON ") + json::type_name(v.t) + ".");
    if (expect != size_t(-1) && v.items().size() != expect)
        fail(where + " has " + std::to_string(v.items().size()) + " elements, expected " +
             std::to_string(expect));
    std::vector<float> out;
    out.reserve(v.items().size());
    for (size_t i = 0; i < v.items().size(); i++)
        out.push_back(finite_float(v.items()[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

std::vector<int64_t> int_array(const json::value& v, const std::string& where, size_t expect)
{
    if (!v.is_array())
        fail(where + " must be an array of integers");
    if (v.items().size() != expect)
        fail(where + " has " + std::to_string(v.items().size()) + " elements, expected " +
             std::to_string(expect));
    std::vector<int64_t> out;
    out.reserve(expect);
    for (size_t i = 0; i < v.items().size(); i++) {
        const json::value& e = v.items()[i];
        if (e.t == json::value::type::boolean) {
            out.push_back(e.b ? 1 : 0);
            continue;
        }
        if (!e.is_number() || !(e.num >= -2147483648.0 && e.num <= 2147483647.0) ||
            e.num != std::floor(e.num))
            fail(where + "[" + std::to_string(i) + "] must be an integer");
        out.push_back(int64_t(e.num));
    }
    return out;
}

void check_keys(const json::value& params, std::initializer_list<const char*> allowed,
                const std::string& what)
{
    for (const auto& f : params.fields()) {
        bool ok = false;
        for (const char* a : allowed)
            ok = ok || f.first == a;
        if (!ok)
            fail("unknown parameter \"" + f.first + "\" for " + what);
    }
}

void read_defaults(const json::value& params, compiled_model& m)
{
    m.defaults.assign(m.features.size(), NAN);
    const json::value* d = params.find("defaults");
    if (d == nullptr || d->t == json::value::type::null)
        return;
    if (!d->is_object())
        fail("\"defaults\" must be an object mapping feature names to numbers");
    // Found by a hash, not a walk of the features: 10,000 defaults of 10,000 features named
    // alike for 4 kB took 9 s to compile, in every backend's first score too.
    std::unordered_map<std::string_view, size_t> position;
    position.reserve(m.features.size());
    for (size_t i = 0; i < m.features.size(); i++)
        position.emplace(m.features[i], i);
    for (const auto& f : d->fields()) {
        auto at = position.find(f.first);
        if (at == position.end())
            fail("\"defaults\" names \"" + f.first + "\", which is not a feature of the model");
        m.defaults[at->second] = finite_float(f.second, "default of feature \"" + f.first + "\"");
    }
}

void compile_linear(const json::value& params, compiled_model& m)
{
    const char* what = m.kind == model_kind::logistic ? "a logistic model" : "a linear model";
    check_keys(params, {"weights", "bias", "defaults"}, what);
    const json::value& weights = member(params, "weights", std::string("params of ") + what);
    // (A classifier's weights, one array per class, as scikit-learn's coef_ holds them, were
    // refused for their count alone: "has 1 elements, expected 2".)
    if (weights.is_array() && !weights.items().empty() && weights.items()[0].is_array())
        fail("\"weights\" must be a flat array of numbers, one per feature",
             std::string("Its first element is an array, as in scikit-learn's coef_ (a row per "
                         "class). The model has one output: for two classes, pass coef_[0] (a "
                         "model of more classes cannot be registered as ") +
                 what + ").");
    m.weights = float_array(weights, "\"weights\"", m.features.size());
    const json::value* b = params.find("bias");
    m.bias = (b == nullptr) ? 0.0f : finite_float(*b, "\"bias\"");
    read_defaults(params, m);
}

activation parse_activation(const json::value& v, const std::string& where)
{
    if (v.t == json::value::type::null)
        return activation::identity;
    if (v.is_string()) {
        if (v.str() == "identity" || v.str() == "linear")
            return activation::identity;
        if (v.str() == "relu")
            return activation::relu;
        if (v.str() == "tanh")
            return activation::tanh;
        if (v.str() == "sigmoid" || v.str() == "logistic")
            return activation::sigmoid;
    }
    fail(where + " must be one of \"identity\" (or \"linear\"), \"relu\", \"tanh\", " +
         "\"sigmoid\" (or \"logistic\")");
}

void compile_mlp(const json::value& params, compiled_model& m)
{
    check_keys(params, {"layers", "defaults"}, "an mlp model");
    const json::value& layers = member(params, "layers", "params of an mlp model");
    if (!layers.is_array() || layers.items().empty())
        fail("\"layers\" must be a non-empty array of layers");
    if (layers.items().size() > size_t(max_mlp_layers))
        fail("an mlp model has at most " + std::to_string(max_mlp_layers) + " layers");
    if (m.features.size() > size_t(mlp_max_width))
        fail("an mlp model has at most " + std::to_string(mlp_max_width) + " inputs");
    m.sizes.push_back(int32_t(m.features.size()));
    for (size_t l = 0; l < layers.items().size(); l++) {
        std::string where = "layer " + std::to_string(l);
        const json::value& layer = layers.items()[l];
        if (!layer.is_object())
            fail(where + " must be an object with \"weights\", \"bias\" and \"activation\"");
        check_keys(layer, {"weights", "bias", "activation"}, where);
        const json::value& w = member(layer, "weights", where);
        if (!w.is_array() || w.items().empty())
            fail(where + ": \"weights\" must be a non-empty array of rows (one per output)");
        if (w.items().size() > size_t(mlp_max_width))
            fail(where + " has " + std::to_string(w.items().size()) + " outputs; at most " +
                 std::to_string(mlp_max_width) + " are allowed");
        int32_t n_in = m.sizes.back();
        for (size_t o = 0; o < w.items().size(); o++) {
            std::vector<float> row = float_array(
                w.items()[o], where + " weights[" + std::to_string(o) + "]", size_t(n_in));
            m.mlp_weights.insert(m.mlp_weights.end(), row.begin(), row.end());
        }
        const json::value* b = layer.find("bias");
        if (b == nullptr) {
            m.mlp_biases.insert(m.mlp_biases.end(), w.items().size(), 0.0f);
        } else {
            std::vector<float> bias = float_array(*b, where + " bias", w.items().size());
            m.mlp_biases.insert(m.mlp_biases.end(), bias.begin(), bias.end());
        }
        const json::value* a = layer.find("activation");
        json::value none;
        m.activations.push_back(int32_t(parse_activation(a ? *a : none, where + " activation")));
        m.sizes.push_back(int32_t(w.items().size()));
    }
    m.n_outputs = m.sizes.back();
    read_defaults(params, m);
}

// One tree in XGBoost's JSON arrays, appended breadth first with siblings adjacent.
void compile_tree(const json::value& tree, size_t t, compiled_model& m)
{
    std::string where = "tree " + std::to_string(t);
    if (!tree.is_object())
        fail(where + " must be an object");
    // As the other kinds' keys are: a misspelt "split_types" was ignored, its categorical
    // splits scored as numerical ones. The other keys of XGBoost's own tree objects are taken
    // and not read, so that its trees may be given as they are dumped.
    check_keys(tree,
               {"left_children", "right_children", "split_indices", "split_conditions",
                "default_left", "split_type", "base_weights", "categories", "categories_nodes",
                "categories_segments", "categories_sizes", "id", "loss_changes", "parents",
                "sum_hessian", "tree_param"},
               where);
    const json::value& lc = member(tree, "left_children", where);
    if (!lc.is_array() || lc.items().empty())
        fail(where + ": \"left_children\" must be a non-empty array");
    size_t n = lc.items().size();
    if (int64_t(m.node_feature.size() + n) > max_gbdt_nodes)
        fail("the model has more than " + std::to_string(max_gbdt_nodes) + " nodes");
    std::vector<int64_t> left = int_array(lc, where + " left_children", n);
    std::vector<int64_t> right =
        int_array(member(tree, "right_children", where), where + " right_children", n);
    std::vector<int64_t> split =
        int_array(member(tree, "split_indices", where), where + " split_indices", n);
    std::vector<float> cond =
        float_array(member(tree, "split_conditions", where), where + " split_conditions", n);
    std::vector<int64_t> dleft =
        int_array(member(tree, "default_left", where), where + " default_left", n);
    // XGBoost writes 0 or 1 (or false, true); another number was read as "left" before.
    for (size_t i = 0; i < n; i++)
        if (dleft[i] != 0 && dleft[i] != 1)
            fail(where + " default_left of node " + std::to_string(i) + " is " +
                     std::to_string(dleft[i]) + ", not 0 or 1",
                 "default_left says which branch a missing value takes: 1 left, 0 right.");
    if (const json::value* st = tree.find("split_type")) {
        std::vector<int64_t> types = int_array(*st, where + " split_type", n);
        for (size_t i = 0; i < n; i++)
            if (types[i] != 0 && left[i] != -1)
                fail(where + " has a categorical split at node " + std::to_string(i),
                     "Only numerical splits are supported.");
    }

    // Breadth-first relayout; every node must be reached exactly once from node 0.
    std::vector<int32_t> new_index(n, -1);
    std::vector<size_t> order{0};
    new_index[0] = 0;
    for (size_t k = 0; k < order.size(); k++) {
        size_t i = order[k];
        if (left[i] == -1) {
            if (right[i] != -1)
                fail(where + " node " + std::to_string(i) + " has a right child but no left one");
            continue;
        }
        for (int64_t c : {left[i], right[i]}) {
            if (c == 0) // in range, but the root: a cycle, not an index past the tree
                fail(where + " node " + std::to_string(i) + " has node 0, the root, as a child",
                     "A tree's nodes must form a tree rooted at node 0.");
            if (c < 0 || c >= int64_t(n))
                fail(where + " node " + std::to_string(i) + " has child index " +
                         std::to_string(c) + " out of range",
                     "The tree has " + std::to_string(n) + (n == 1 ? " node." : " nodes."));
            if (new_index[size_t(c)] != -1)
                fail(where + " node " + std::to_string(c) + " is reached twice",
                     "A tree's nodes must form a tree rooted at node 0.");
            new_index[size_t(c)] = int32_t(order.size());
            order.push_back(size_t(c));
        }
        if (split[i] < 0 || split[i] >= int64_t(m.features.size()))
            fail(where + " node " + std::to_string(i) + " splits on feature " +
                     std::to_string(split[i]) + ", out of range",
                 "The model has " + std::to_string(m.features.size()) +
                     (m.features.size() == 1 ? " feature." : " features."));
    }
    // Unreachable nodes (deleted by pruning) are dropped.
    int32_t base = int32_t(m.node_feature.size());
    m.tree_root.push_back(base);
    for (size_t i : order) {
        bool leaf = left[i] == -1;
        m.node_feature.push_back(leaf ? -1 : int32_t(split[i]));
        m.node_value.push_back(cond[i]);
        m.node_left.push_back(leaf ? -1 : base + new_index[size_t(left[i])]);
        m.node_default_left.push_back(dleft[i] != 0 ? 1 : 0);
    }
}

void compile_gbdt(const json::value& params, compiled_model& m)
{
    check_keys(params, {"objective", "base_score", "trees"}, "a gbdt model");
    std::string objective = "reg:squarederror";
    if (const json::value* o = params.find("objective")) {
        if (!o->is_string())
            fail("\"objective\" must be a string");
        objective = o->str();
    }
    const json::value* bs = params.find("base_score");
    double base_score = bs ? finite_float(*bs, "\"base_score\"") : 0.5;
    if (objective == "binary:logistic" || objective == "reg:logistic") {
        if (!(base_score > 0.0 && base_score < 1.0))
            fail("\"base_score\" must lie strictly between 0 and 1 for " + objective);
        m.gbdt_logistic = true;
        // In float, as XGBoost's ProbToMargin: -logf(1.0f / base_score - 1.0f).
        m.base_margin = -logf(1.0f / float(base_score) - 1.0f);
        // Within a float4 step of 0 or 1 the margin is infinite: every score would fail (22003).
        if (!std::isfinite(m.base_margin))
            fail("\"base_score\" is too close to " + std::string(base_score < 0.5 ? "0" : "1") +
                     " for " + objective,
                 "Its margin, -log(1 / base_score - 1) in float4, is infinite.");
    } else if (objective == "reg:squarederror" || objective == "reg:linear") {
        m.base_margin = float(base_score);
    } else if (objective == "binary:logitraw") {
        m.base_margin = float(base_score);
    } else {
        fail("unsupported objective \"" + objective + "\"",
             "Supported: binary:logistic, reg:logistic, binary:logitraw, reg:squarederror.");
    }
    const json::value& trees = member(params, "trees", "params of a gbdt model");
    if (!trees.is_array() || trees.items().empty())
        fail("\"trees\" must be a non-empty array of trees");
    for (size_t t = 0; t < trees.items().size(); t++) {
        interruption_point();
        compile_tree(trees.items()[t], t, m);
    }
    m.defaults.assign(m.features.size(), NAN);
    m.missing_is_nan = true;

    m.cpu_nodes.resize(m.node_feature.size());
    std::vector<int32_t> depth(m.node_feature.size(), 0);
    for (size_t t = 0; t < m.tree_root.size(); t++) {
        size_t begin = size_t(m.tree_root[t]);
        size_t end =
            t + 1 < m.tree_root.size() ? size_t(m.tree_root[t + 1]) : m.node_feature.size();
        int32_t max_depth = 0;
        for (size_t i = begin; i < end; i++) { // breadth first: parents before children
            compiled_model::cpu_node& n = m.cpu_nodes[i];
            if (m.node_feature[i] < 0) {
                n = {0u, NAN, int32_t(i), m.node_value[i]};
                continue;
            }
            n = {uint32_t(m.node_feature[i]) | (m.node_default_left[i] ? 0u : 0x80000000u),
                 m.node_value[i], m.node_left[i], 0.0f};
            for (int32_t c : {m.node_left[i], m.node_left[i] + 1}) {
                depth[size_t(c)] = depth[i] + 1;
                max_depth = std::max(max_depth, depth[i] + 1);
            }
        }
        m.tree_depth.push_back(max_depth);
    }
}

template <typename T> uint64_t fnv_vec(uint64_t h, const std::vector<T>& v)
{
    uint64_t n = v.size();
    h = fnv(h, &n, sizeof n);
    return v.empty() ? h : fnv(h, v.data(), v.size() * sizeof(T));
}

uint64_t fingerprint_of(const compiled_model& m)
{
    uint64_t h = fnv_basis;
    h = fnv(h, &m.kind, sizeof m.kind);
    for (const auto& f : m.features)
        h = fnv(h, f.c_str(), f.size() + 1);
    h = fnv_vec(h, m.defaults);
    h = fnv_vec(h, m.weights);
    h = fnv(h, &m.bias, sizeof m.bias);
    h = fnv_vec(h, m.sizes);
    h = fnv_vec(h, m.mlp_weights);
    h = fnv_vec(h, m.mlp_biases);
    h = fnv_vec(h, m.activations);
    h = fnv_vec(h, m.node_feature);
    h = fnv_vec(h, m.node_value);
    h = fnv_vec(h, m.node_left);
    h = fnv_vec(h, m.node_default_left);
    h = fnv_vec(h, m.tree_root);
    h = fnv(h, &m.base_margin, sizeof m.base_margin);
    h = fnv(h, &m.gbdt_logistic, sizeof m.gbdt_logistic);
    return h;
}

} // namespace

model_kind parse_kind(const std::string& kind)
{
    if (kind == "linear")
        return model_kind::linear;
    if (kind == "logistic")
        return model_kind::logistic;
    if (kind == "mlp")
        return model_kind::mlp;
    if (kind == "gbdt")
        return model_kind::gbdt;
    fail("unknown model kind \"" + kind + "\"", "Kinds are linear, logistic, mlp and gbdt.");
}

const char* kind_name(model_kind kind)
{
    switch (kind) {
    case model_kind::linear:
        return "linear";
    case model_kind::logistic:
        return "logistic";
    case model_kind::mlp:
        return "mlp";
    case model_kind::gbdt:
        return "gbdt";
    }
    return "unknown";
}

compiled_model compile_model(model_kind kind, const std::vector<std::string>& features,
                             const json::value& params)
{
    compiled_model m;
    m.kind = kind;
    if (features.empty())
        fail("a model needs at least one feature");
    if (features.size() > size_t(max_features))
        fail("a model has at most " + std::to_string(max_features) + " features");
    std::set<std::string> seen;
    for (const auto& f : features) {
        if (f.empty())
            fail("feature names must not be empty");
        if (!seen.insert(f).second)
            fail("feature \"" + f + "\" is listed twice");
    }
    m.features = features;
    if (!params.is_object())
        fail("params must be a json object",
             std::string("It is a JSON ") + json::type_name(params.t) + ".");
    switch (kind) {
    case model_kind::linear:
    case model_kind::logistic:
        compile_linear(params, m);
        break;
    case model_kind::mlp:
        compile_mlp(params, m);
        break;
    case model_kind::gbdt:
        compile_gbdt(params, m);
        break;
    }
    m.fingerprint = fingerprint_of(m);
    return m;
}

namespace {
template <typename T> size_t heap_of(const std::vector<T>& v)
{
    return v.capacity() * sizeof(T);
}
} // namespace

int64_t compiled_model::rows_between_checks() const
{
    int64_t work = int64_t(features.size());
    if (kind == model_kind::mlp) {
        work = 0;
        for (size_t i = 0; i + 1 < sizes.size(); i++)
            work += int64_t(sizes[i]) * sizes[i + 1];
    } else if (kind == model_kind::gbdt) {
        work = 0;
        for (int32_t depth : tree_depth)
            work += depth + 1;
        // score_rows walks each tree for 64 rows at once: a block of fewer scored up to 13%
        // slower on large forests.
        const int64_t rows = work_between_checks / std::max<int64_t>(work, 1);
        return std::clamp<int64_t>(rows / 64 * 64, 64, 1024);
    }
    return std::clamp<int64_t>(work_between_checks / std::max<int64_t>(work, 1), 1, 1024);
}

size_t compiled_model::memory_bytes() const
{
    size_t n = sizeof(*this) + heap_of(features) + heap_of(defaults) + heap_of(weights) +
               heap_of(sizes) + heap_of(mlp_weights) + heap_of(mlp_biases) + heap_of(activations) +
               heap_of(node_feature) + heap_of(node_value) + heap_of(node_left) +
               heap_of(node_default_left) + heap_of(tree_root) + heap_of(cpu_nodes) +
               heap_of(tree_depth);
    for (const auto& f : features)
        n += f.capacity();
    return n;
}

linear_view compiled_model::linear() const
{
    return linear_view{weights.data(), bias, int32_t(features.size()),
                       kind == model_kind::logistic};
}

mlp_view compiled_model::mlp() const
{
    return mlp_view{int32_t(activations.size()), sizes.data(), mlp_weights.data(),
                    mlp_biases.data(), activations.data()};
}

gbdt_view compiled_model::gbdt() const
{
    return gbdt_view{
        node_feature.data(), node_value.data(),         node_left.data(), node_default_left.data(),
        tree_root.data(),    int32_t(tree_root.size()), base_margin,      gbdt_logistic};
}

void compiled_model::score_rows(const float* rows, int64_t n, float* out) const
{
    const int64_t width = int64_t(features.size());
    switch (kind) {
    case model_kind::linear:
    case model_kind::logistic: {
        linear_view v = linear();
        for (int64_t r = 0; r < n; r++)
            out[r] = linear_score(v, rows + r * width);
        break;
    }
    case model_kind::mlp: {
        mlp_view v = mlp();
        for (int64_t r = 0; r < n; r++)
            mlp_forward(v, rows + r * width, out + r * n_outputs);
        break;
    }
    case model_kind::gbdt: {
        // Blocks of rows walk one tree at a time, level by level: the block's independent
        // walks overlap in the CPU, and the tree's nodes stay in cache across the block.
        constexpr int64_t block = 64;
        const cpu_node* nodes = cpu_nodes.data();
        const int32_t n_trees = int32_t(tree_root.size());
        float margin[block];
        int32_t at[block];
        for (int64_t r0 = 0; r0 < n; r0 += block) {
            const int64_t nb = std::min(block, n - r0);
            const float* x = rows + r0 * width;
            for (int64_t r = 0; r < nb; r++)
                margin[r] = base_margin; // XGBoost's order (gbdt_margin)
            for (int32_t t = 0; t < n_trees; t++) {
                for (int64_t r = 0; r < nb; r++)
                    at[r] = tree_root[size_t(t)];
                for (int32_t level = 0; level < tree_depth[size_t(t)]; level++)
                    for (int64_t r = 0; r < nb; r++) {
                        const cpu_node& nd = nodes[at[r]];
                        float v = x[r * width + (nd.feature & 0x7FFFFFFFu)];
                        int32_t right = (v >= nd.threshold) | ((v != v) & (nd.feature >> 31));
                        at[r] = nd.left + right;
                    }
                for (int64_t r = 0; r < nb; r++)
                    margin[r] += nodes[at[r]].leaf;
            }
            for (int64_t r = 0; r < nb; r++)
                out[r0 + r] = gbdt_link(gbdt_logistic, margin[r]); // as gbdt_score
        }
        break;
    }
    }
}

} // namespace ai_scale::scoring
