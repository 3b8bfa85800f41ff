#!/usr/bin/python3
"""Trains the benchmark's gbdt (500 trees, depth 8, 16 features, binary:logistic) with
Debian's python3-xgboost, saves it as JSON, writes N float32 rows (raw, row-major) and times
XGBoost's own predictor on them (inplace_predict, one thread). Usage:
    train_gbdt.py OUTDIR ROWS
Prints "xgboost_rows_per_s <value>"."""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb

out, n_rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
x = rng.normal(size=(60000, 16)).astype(np.float32)
y = ((x[:, 0] * x[:, 1] + np.sin(x[:, 2] * 3) + x[:, 3] ** 2 - x[:, 4] + rng.normal(size=60000)) > 1)
booster = xgb.train({"objective": "binary:logistic", "max_depth": 8, "eta": 0.05, "nthread": 2,
                     "tree_method": "hist", "seed": 3},
                    xgb.DMatrix(x, label=y.astype(np.float32)), num_boost_round=500)
booster.save_model(os.path.join(out, "gbdt.json"))

rows = rng.normal(size=(n_rows, 16)).astype(np.float32)
rows[rng.random(size=rows.shape) < 0.02] = np.nan
rows.tofile(os.path.join(out, "rows.f32"))
booster.set_param({"nthread": 1})
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    pred = booster.inplace_predict(rows, missing=np.nan)
    best = min(best, time.perf_counter() - t0)
np.asarray(pred, dtype=np.float32).tofile(os.path.join(out, "xgb_pred.f32"))
print("xgboost_rows_per_s %.0f" % (n_rows / best))
