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
import math
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


def tree_splits(model):
    """(feature index, threshold) of every split of a saved model's trees."""
    out = []
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1:
                out.append((tree["split_indices"][i], tree["split_conditions"][i]))
    return out


def thresholds(booster):
    return tree_splits(json.loads(booster.save_raw("json")))


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

    write_float_ties()
    write_sigmoid_tail()


def write_float_ties():
    """xgb_float_ties: one feature "x", a stump per threshold t (left leaf 0, right leaf 2^-k,
    so every sum is exact and the score spells out the side taken at each split), and inputs
    that are doubles at, or a double's ulp next to, the midpoint between t and the float below
    it. XGBoost reads np.float32(double): the nearest double rounded to the nearest float, ties
    to even. Thresholds near doubles that test/scoring/diff_check.py found scored wrongly."""
    found = [-0.47500000894069666, 0.49999998509883875, 2.99999988079071, 0.9999999701976776,
             66.99999618530273, 3.700000166893006, -3.186663619358045e-27, 1.0000000596046448]
    x = np.linspace(-4, 4, 64, dtype=np.float32).reshape(-1, 1)
    d = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(np.float32), feature_names=["x"])
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 1, "base_score": 0,
                         "nthread": 1, "seed": 3}, d, num_boost_round=len(found))
    model = json.loads(booster.save_raw("json"))
    inputs = []
    for k, (tree, v) in enumerate(zip(model["learner"]["gradient_booster"]["model"]["trees"],
                                      found)):
        below = np.float32(v)
        if float(below) > v:
            below = np.nextafter(below, np.float32(-np.inf))
        t = np.nextafter(below, np.float32(np.inf))
        assert tree["left_children"] == [1, -1, -1], tree["left_children"]
        tree["split_conditions"] = [float(t), 0.0, 2.0 ** -k]
        tree["base_weights"] = [0.0, 0.0, 2.0 ** -k]
        mid = (float(below) + float(t)) / 2
        inputs += [v, mid, math.nextafter(mid, math.inf), math.nextafter(mid, -math.inf),
                   float(t), float(below)]
    path = os.path.join(OUT, "xgb_float_ties.json")
    with open(path, "w") as f:
        json.dump(model, f)
    booster = xgb.Booster(model_file=path)
    expected = booster.inplace_predict(np.array(inputs).reshape(-1, 1).astype(np.float32))
    with open(os.path.join(OUT, "xgb_float_ties_cases.jsonl"), "w") as f:
        for i, (v, p) in enumerate(zip(inputs, expected)):
            f.write(json.dumps({"id": i + 1, "input": {"x": v}, "expected": float(p)}) + "\n")


def write_sigmoid_tail():
    """xgb_sigmoid_tail: binary:logistic over one feature "x"; input x = k (k = 0, 1, ...)
    has margin MARGINS[k] exactly (stump k adds MARGINS[k] - MARGINS[k - 1] when x >= k; all
    dyadic, so the sums are exact), down to below -88.7, where XGBoost's sigmoid caps its
    exponent: 1 / (1 + e^88.7), about 3.0e-39, where 1 / (1 + expf(-z)) gives 0."""
    margins = [-1000.0, -200.0, -104.0, -100.0, -90.0, -88.75, -88.703125, -88.6875, -88.0,
               -87.0, -50.0, -10.0, -0.5, 0.0, 0.5, 10.0, 50.0, 100.0]
    x = np.linspace(-4, 4, 64, dtype=np.float32).reshape(-1, 1)
    d = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(np.float32), feature_names=["x"])
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 1, "base_score": 0.5, "eta": 0.01,
                         "nthread": 1, "seed": 4}, d, num_boost_round=len(margins))
    model = json.loads(booster.save_raw("json"))
    previous = 0.0
    for k, (tree, m) in enumerate(zip(model["learner"]["gradient_booster"]["model"]["trees"],
                                      margins)):
        assert tree["left_children"] == [1, -1, -1], tree["left_children"]
        tree["split_indices"] = [0, 0, 0]
        tree["split_conditions"] = [float(k), 0.0, m - previous]
        tree["base_weights"] = [0.0, 0.0, m - previous]
        previous = m
    path = os.path.join(OUT, "xgb_sigmoid_tail.json")
    with open(path, "w") as f:
        json.dump(model, f)
    booster = xgb.Booster(model_file=path)
    inputs = np.arange(-1, len(margins), dtype=np.float32).reshape(-1, 1)
    expected = booster.inplace_predict(inputs)
    margin = booster.inplace_predict(inputs, predict_type="margin")
    assert list(margin) == [0.0] + margins, margin
    with open(os.path.join(OUT, "xgb_sigmoid_tail_cases.jsonl"), "w") as f:
        for i, (v, p, m) in enumerate(zip(inputs[:, 0], expected, margin)):
            f.write(json.dumps({"id": i + 1, "input": {"x": int(v)}, "expected": float(p),
                                "margin": float(m)}) + "\n")

if __name__ == "__main__":
    main()
