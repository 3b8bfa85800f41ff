#include "scoring/xgboost.hpp"
#include "scoring/interruption.hpp"

#include "scoring/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ai_scale::scoring {

namespace {

[[noreturn]] void fail(std::string message, std::string detail = {})
{
    throw model_error("invalid XGBoost model: " + message, std::move(detail));
}

const json::value& need(const json::value& obj, const char* key, const char* path)
{
    const json::value* v = obj.is_object() ? obj.find(key) : nullptr;
    if (v == nullptr)
        fail(std::string("missing \"") + path + "\"");
    return *v;
}

// The text of a scalar XGBoost writes as a string; newer versions write vector-valued
// parameters such as "[5E-1]".
std::string scalar_text(const json::value& v)
{
    std::string text = v.str();
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    return text;
}

// XGBoost writes most scalars of its parameter blocks as strings ("5E-1", "16"). Only finite
// numbers are taken: strtod would also read "nan" and "inf".
double number_of(const json::value& v, const char* path)
{
    double d = NAN;
    if (v.is_number()) {
        d = v.num;
    } else if (v.is_string()) {
        const std::string text = scalar_text(v);
        char* end = nullptr;
        double parsed = strtod(text.c_str(), &end);
        if (!text.empty() && end != nullptr && *end == '\0')
            d = parsed;
    }
    if (!std::isfinite(d))
        fail(std::string("\"") + path + "\" is not a finite number");
    return d;
}

// number_of as the float nearest its text, rounded once from the decimal, as XGBoost reads it
// and as register_model reads a number of params: through the double, base_score
// "0.6517548263809934" was written as 0.651754826 and read back one float below the float
// nearest the text.
float float_of(const json::value& v, const char* path)
{
    (void)number_of(v, path); // refuses what is not a finite number
    const float f = v.is_number() ? v.num_float : strtof(scalar_text(v).c_str(), nullptr);
    if (!std::isfinite(f))
        fail(std::string("\"") + path + "\" is not a finite number");
    return f;
}

// A count such as num_feature: a finite number without a fractional part.
double count_of(const json::value& v, const char* path)
{
    double d = number_of(v, path);
    if (d != std::floor(d))
        fail(std::string("\"") + path + "\" is not a whole number");
    return d;
}

void write_float(std::string& out, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", v);
    out += buf;
}

void copy_array(std::string& out, const json::value& tree, const char* key, size_t t, bool floats)
{
    const json::value* a = tree.find(key);
    if (a == nullptr || !a->is_array())
        fail("tree " + std::to_string(t) + " lacks the array \"" + key + "\"");
    out += '"';
    out += key;
    out += "\":[";
    for (size_t i = 0; i < a->items().size(); i++) {
        if (i > 0)
            out += ',';
        const json::value& e = a->items()[i];
        if (e.t == json::value::type::boolean)
            out += e.b ? '1' : '0';
        else if (!e.is_number() || !std::isfinite(e.num))
            fail("tree " + std::to_string(t) + " \"" + key + "\"[" + std::to_string(i) +
                 (e.is_number() ? "] is not a finite number" : "] is not a number"));
        else if (floats) // as XGBoost reads it: the float nearest the text (json::value)
            write_float(out, std::isfinite(e.num_float) ? double(e.num_float) : e.num);
        else
            json::write_number(out, e.num);
    }
    out += ']';
}

// learner.objective.name, which the params keep.
const json::value& objective_of(const json::value& learner)
{
    const json::value& objective =
        need(need(learner, "objective", "learner.objective"), "name", "learner.objective.name");
    if (!objective.is_string())
        fail("\"learner.objective.name\" is not a string");
    return objective;
}

// Refuses a model of more than one class or target.
void require_one_output(const json::value& mparam)
{
    double num_class =
        mparam.find("num_class") ? count_of(*mparam.find("num_class"), "num_class") : 0;
    if (num_class > 1) {
        std::string count; // written as JSON writes it: a hostile count may not fit an integer
        json::write_number(count, num_class);
        fail("multi-class models are not supported", "The model has " + count + " classes.");
    }
    if (const json::value* nt = mparam.find("num_target"))
        if (count_of(*nt, "num_target") > 1)
            fail("multi-target models are not supported");
}

double feature_count_of(const json::value& mparam)
{
    double num_feature =
        count_of(need(mparam, "num_feature", "learner_model_param.num_feature"), "num_feature");
    if (!(num_feature >= 1 && num_feature <= max_features))
        fail("num_feature must be between 1 and " + std::to_string(max_features));
    return num_feature;
}

// The trees of the gradient booster, which must be a gbtree of one output group.
const json::value& trees_of(const json::value& learner)
{
    const json::value& booster = need(learner, "gradient_booster", "learner.gradient_booster");
    const json::value& bname = need(booster, "name", "gradient_booster.name");
    if (!bname.is_string() || bname.str() != "gbtree")
        fail("only the gbtree booster is supported",
             "The model's booster is " + (bname.is_string() ? bname.str() : "unnamed") + ".");
    const json::value& trees = need(need(booster, "model", "gradient_booster.model"), "trees",
                                    "gradient_booster.model.trees");
    if (!trees.is_array() || trees.items().empty())
        fail("the model has no trees");
    if (const json::value* info = need(booster, "model", "").find("tree_info"))
        if (info->is_array())
            for (const auto& g : info->items())
                if (!g.is_number() || g.num != 0)
                    fail("trees of more than one output group are not supported");
    return trees;
}

// The boosting rounds of the trees: each round grows num_parallel_tree trees (a random forest
// in one round grows them all); one output group (trees_of).
long rounds_of(const json::value& learner, const json::value& trees)
{
    const double n_trees = double(trees.items().size());
    double per_round = 1;
    const json::value* param =
        need(need(learner, "gradient_booster", ""), "model", "").find("gbtree_model_param");
    if (param != nullptr)
        if (const json::value* n = param->find("num_parallel_tree"))
            per_round = count_of(*n, "gbtree_model_param.num_parallel_tree");
    if (per_round < 1 || per_round > n_trees)
        per_round = 1;
    return long(std::ceil(n_trees / per_round));
}

// The best round of a model trained with early stopping (learner.attributes.best_iteration,
// from 0), or -1.
long best_iteration_of(const json::value& learner)
{
    const json::value* attributes = learner.find("attributes");
    const json::value* best = attributes ? attributes->find("best_iteration") : nullptr;
    if (best == nullptr)
        return -1;
    const double d = count_of(*best, "attributes.best_iteration");
    return d >= 0 && d < 1e9 ? long(d) : -1;
}

// The model's feature names, or f0, f1, ... when it has none.
std::vector<std::string> feature_names_of(const json::value& learner, double num_feature)
{
    std::vector<std::string> features;
    const json::value* names = learner.find("feature_names");
    if (names != nullptr && names->is_array() && !names->items().empty()) {
        if (names->items().size() != size_t(num_feature))
            fail("feature_names has " + std::to_string(names->items().size()) +
                 " names but num_feature is " + std::to_string(int64_t(num_feature)));
        for (const auto& n : names->items()) {
            if (!n.is_string())
                fail("feature_names must hold strings");
            features.push_back(n.str());
        }
    } else {
        for (int64_t i = 0; i < int64_t(num_feature); i++)
            features.push_back("f" + std::to_string(i));
    }
    return features;
}

void reject_categorical_features(const json::value& learner)
{
    if (const json::value* types = learner.find("feature_types"))
        if (types->is_array())
            for (const auto& t : types->items())
                if (t.is_string() && t.str() == "c")
                    fail("categorical features are not supported");
}

// XGBoost's predictor takes the right child of a node to be the node after its left one
// (left_children[i] + 1), whatever right_children says: its dumps are laid out so. A dump edited
// or written by hand where the two differ was scored by right_children here, and by the node
// after the left one by XGBoost (0.9153 against 0.5842 for one row): refused, as no score of it
// can be XGBoost's and ours alike.
void require_right_after_left(const json::value& tree, size_t t)
{
    const json::value* left = tree.find("left_children");
    const json::value* right = tree.find("right_children");
    if (left == nullptr || right == nullptr || !left->is_array() || !right->is_array())
        return; // copy_array says which is missing
    const size_t n = std::min(left->items().size(), right->items().size());
    // (Indexes out of the tree, or not numbers, are the compile's errors to give.)
    const auto in_tree = [n](const json::value& v) {
        return v.is_number() && v.num >= 0 && v.num < double(n);
    };
    for (size_t i = 0; i < n; i++) {
        const json::value& l = left->items()[i];
        const json::value& r = right->items()[i];
        if (in_tree(l) && in_tree(r) && r.num != l.num + 1) {
            std::string left_text, right_text;
            json::write_number(left_text, l.num);
            json::write_number(right_text, r.num);
            fail("tree " + std::to_string(t) + " node " + std::to_string(i) + " has right child " +
                     right_text + ", not the node after its left child " + left_text,
                 "XGBoost scores the node after the left child as the right one; its own dumps "
                 "are laid out so.");
        }
    }
}

// Tree t's arrays, as an object of the params' "trees".
void write_tree(std::string& p, const json::value& tree, size_t t)
{
    if (!tree.is_object())
        fail("tree " + std::to_string(t) + " is not an object");
    require_right_after_left(tree, t);
    if (t > 0)
        p += ',';
    p += '{';
    copy_array(p, tree, "left_children", t, false);
    p += ',';
    copy_array(p, tree, "right_children", t, false);
    p += ',';
    copy_array(p, tree, "split_indices", t, false);
    p += ',';
    copy_array(p, tree, "split_conditions", t, true);
    p += ',';
    copy_array(p, tree, "default_left", t, false);
    if (tree.find("split_type") != nullptr) {
        p += ',';
        copy_array(p, tree, "split_type", t, false);
    }
    p += '}';
}

// The gbdt params: {"objective": ..., "base_score": ..., "trees": [...]}.
void write_params(std::string& p, const json::value& objective, float base_score,
                  const json::value& trees)
{
    p = "{\"objective\":";
    json::write_string(p, objective.str());
    p += ",\"base_score\":";
    write_float(p, base_score);
    p += ",\"trees\":[";
    for (size_t t = 0; t < trees.items().size(); t++) {
        interruption_point();
        write_tree(p, trees.items()[t], t);
    }
    p += "]}";
}

} // namespace

xgboost_import import_xgboost(const json::value& model)
{
    if (!model.is_object())
        fail("the document is not a JSON object");
    const json::value& learner = need(model, "learner", "learner");
    const json::value& mparam = need(learner, "learner_model_param", "learner.learner_model_param");
    const json::value& objective = objective_of(learner);
    require_one_output(mparam);
    const float base_score =
        float_of(need(mparam, "base_score", "learner_model_param.base_score"), "base_score");
    double num_feature = feature_count_of(mparam);
    const json::value& trees = trees_of(learner);

    xgboost_import out;
    out.rounds = rounds_of(learner, trees);
    out.best_iteration = best_iteration_of(learner);
    out.features = feature_names_of(learner, num_feature);
    reject_categorical_features(learner);
    write_params(out.params, objective, base_score, trees);
    return out;
}

} // namespace ai_scale::scoring
