// Reads XGBoost's JSON model dump (Booster.save_model("m.json"), format of XGBoost 1.x/2.x)
// into ai_scale's gbdt parameters. Pure C++: unit-tested and fuzzed without a server.
#pragma once

#include "scoring/json.hpp"

#include <string>
#include <vector>

namespace ai_scale::scoring {

struct xgboost_import {
    std::vector<std::string> features; // the dump's feature_names, else f0, f1, ...
    std::string params;                // gbdt params as JSON text
    // Boosting rounds of the dump (its trees over num_parallel_tree), and, for a model trained
    // with early stopping, the best of them (learner.attributes.best_iteration, from 0): every
    // tree is imported, as Booster.predict scores by default, where scikit-learn's and R's
    // predict stop at the best round. -1 without one.
    long rounds = 0;
    long best_iteration = -1;
};

// Throws model_error when the document is not a supported XGBoost model.
xgboost_import import_xgboost(const json::value& model);

} // namespace ai_scale::scoring
