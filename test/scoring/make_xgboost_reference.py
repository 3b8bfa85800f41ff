#!/usr/bin/python3
"""Trains small XGBoost models and writes their JSON dumps plus XGBoost's own predictions as
test data (test/data/scoring/), so the regression tests compare ai_scale's gbdt scores with
XGBoost's without training anything. Run with Debian's python3-xgboost (1.7.4):

    /usr/bin/python3 test/scoring/make_xgboost_reference.py

Writes, per model NAME: NAME.json (Booster.save_model) and NAME_cases.jsonl (one line per
case: {"id": i, "input": {feature: value, ...}, "expected": prediction}). Missing values are
absent keys in "input" and NaN for XGBoost.
"""
import json
import os

import numpy as np
import xgboost as xgb

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "scoring")


def f32_text(v):
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def make_data(rng, n, n_features, missing_rate):
    x = np.round(rng.normal(size=(n, n_features)) * 2.0, 3).astype(np.float32)
    x[rng.random(size=x.shape) < missing_rate] = np.nan
    return x


def thresholds(booster):
    model = json.loads(booster.save_raw("json"))
    out = []
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1:
                out.append((tree["split_indices"][i], tree["split_conditions"][i]))
    return out


def write_model(name, booster, names, x_test):
    booster.save_model(os.path.join(OUT, name + ".json"))
    # Inputs that sit exactly on split thresholds check the "x < threshold goes left" rule.
    rng = np.random.default_rng(7)
    on_threshold = []
    for feature, value in thresholds(booster)[:40]:
        row = x_test[rng.integers(len(x_test))].copy()
        row[feature] = np.float32(value)
        on_threshold.append(row)
    x_all = np.vstack([x_test, np.array(on_threshold, dtype=np.float32)])
    expected = booster.inplace_predict(x_all, missing=np.nan)
    with open(os.path.join(OUT, name + "_cases.jsonl"), "w") as f:
        for i, (row, p) in enumerate(zip(x_all, expected)):
            inp = {names[j]: json.loads(f32_text(v)) for j, v in enumerate(row) if not np.isnan(v)}
            f.write(json.dumps({"id": i + 1, "input": inp, "expected": float(p)}) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(42)

    # binary:logistic with named features and missing values in training and test data.
    names = ["age", "income", "tenure", "visits", "score"]
    x = make_data(rng, 2000, 5, 0.1)
    logit = 0.8 * np.nan_to_num(x[:, 0]) - 0.5 * np.nan_to_num(x[:, 1]) + np.sin(np.nan_to_num(x[:, 2]))
    y = (logit + rng.normal(size=len(x)) * 0.5 > 0).astype(np.float32)
    d = xgb.DMatrix(x, label=y, feature_names=names, missing=np.nan)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                         "base_score": 0.4, "nthread": 1, "seed": 1}, d, num_boost_round=20)
    write_model("xgb_logistic", booster, names, make_data(rng, 200, 5, 0.15))

    # reg:squarederror without feature names (f0, f1, ...), deeper trees, custom base_score.
    x = make_data(rng, 2000, 6, 0.05)
    y = (np.nan_to_num(x[:, 0]) * 3 + np.nan_to_num(x[:, 3]) ** 2 - np.nan_to_num(x[:, 5])
         + rng.normal(size=len(x)) * 0.1).astype(np.float32)
    d = xgb.DMatrix(x, label=y, missing=np.nan)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 6, "eta": 0.2,
                         "base_score": 2.5, "nthread": 1, "seed": 2}, d, num_boost_round=30)
    write_model("xgb_regression", booster, ["f%d" % i for i in range(6)],
                make_data(rng, 200, 6, 0.1))


if __name__ == "__main__":
    main()
