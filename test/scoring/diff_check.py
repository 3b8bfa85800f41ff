#!/usr/bin/python3
"""Differential check of in-database scoring against the reference implementations.

Trains many small random XGBoost models (and draws random linear, logistic and mlp models),
imports or registers each into a running Postgres with ai_scale, scores the same rows with
ai_scale.score, score_batch and score_batched, and compares with XGBoost's predict and
inplace_predict (for gbdt) or a float64 numpy forward pass (for the other kinds). Also checks
that import_xgboost refuses what docs/scoring.md says it refuses, with SQLSTATE 22023.

Not part of CI (it trains hundreds of models); run it by hand against a server where the
extension is installed (CREATE EXTENSION is done if needed), with Debian's python3-xgboost
(1.7.4), numpy and psycopg2:

    /usr/bin/python3 test/scoring/diff_check.py --dsn 'host=127.0.0.1 port=5432 dbname=postgres' \\
        --models 200 --seed 1

Exit status 0 when everything agrees. A failing gbdt model is written, with its cases, to
--keep DIR (default /tmp/ai_scale_diff) in the format of test/data/scoring/ so it can become
a regression test.

Tolerance. Every reference here is computed in float32 (XGBoost) or bounded from float64, and
ai_scale computes in float32 too, but not always in the same order: XGBoost starts from the
base margin and adds the trees' leaves one by one; ai_scale adds the leaves, then the base
margin. Both are within (n+1) * 2^-24 * (|base| + sum |leaf|) of the exact sum of the same
leaves (the usual bound on recursive summation), so two results that took the same leaves
differ by at most twice that; we allow 4 times. A score that took a different leaf anywhere
differs by a whole leaf value, far beyond. For sigmoid outputs the margin tolerance is scaled
by the sigmoid's slope p(1 - p) (plus 8 ulps for expf). linear/logistic/mlp are compared with
a float64 forward pass and a propagated bound of the same kind (per dot product of n terms,
(n + 2) * 2^-24 * sum |w x|, carried through later layers by |W|, plus 4 ulps per activation).
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np
import psycopg2
import xgboost as xgb

from make_xgboost_reference import tree_splits

U = 2.0 ** -24  # float32 unit roundoff
OBJECTIVES = ["binary:logistic", "reg:squarederror", "reg:logistic", "binary:logitraw"]
COLUMN_KINDS = ["normal", "normal", "normal", "constant", "integer", "boolean", "huge", "tiny",
                "signed_zero", "wide"]


# ---------------------------------------------------------------- data
def make_columns(rng, n_features):
    return [str(rng.choice(COLUMN_KINDS)) for _ in range(n_features)]


def make_rows(rng, kinds, n, missing_rate):
    x = np.empty((n, len(kinds)), dtype=np.float32)
    for j, k in enumerate(kinds):
        if k == "normal":
            col = np.round(rng.normal(size=n) * 3, int(rng.integers(0, 5)))
        elif k == "constant":
            col = np.full(n, float(rng.choice([0.0, 1.0, -2.5, 7.0])))
        elif k == "integer":
            col = rng.integers(-1000, 1000, size=n).astype(np.float64)
        elif k == "boolean":
            col = rng.integers(0, 2, size=n).astype(np.float64)
        elif k == "huge":
            col = rng.normal(size=n) * 10.0 ** float(rng.uniform(20, 37))
        elif k == "tiny":
            col = rng.normal(size=n) * 10.0 ** float(rng.uniform(-44, -20))
        elif k == "signed_zero":
            col = rng.choice([-0.0, 0.0, 1.0, -1.0], size=n)
        else:  # wide: many orders of magnitude in one column
            col = rng.normal(size=n) * 10.0 ** rng.uniform(-30, 30, size=n)
        x[:, j] = col.astype(np.float32)
    if missing_rate > 0:
        x[rng.random(size=x.shape) < missing_rate] = np.nan
    return x


def f32_text(v):
    """The shortest decimal that reads back as float32 v (scientific for extremes)."""
    v = np.float32(v)
    if v != 0 and (abs(v) >= 1e16 or abs(v) < 1e-6):
        return np.format_float_scientific(v, unique=True, trim="-")
    return np.format_float_positional(v, unique=True, trim="-")


def encode_row(rng, names, kinds, row):
    """A JSON object text: missing values as absent keys or null, booleans as true/false,
    whole numbers as JSON ints, the rest as shortest float32 decimals (sometimes with all 17
    digits of the double), keys in random order, sometimes with extra keys."""
    parts = []
    for j in rng.permutation(len(names)):
        v = row[j]
        key = json.dumps(names[j])
        if np.isnan(v):
            if rng.random() < 0.5:
                parts.append(key + ": null")
            continue
        if kinds[j] == "boolean" and v in (0, 1) and rng.random() < 0.5:
            text = "true" if v == 1 else "false"
        elif v == 0 and math.copysign(1, v) < 0:
            text = "-0.0" if rng.random() < 0.5 else "-0"
        elif float(v).is_integer() and rng.random() < 0.7:
            text = str(int(v))  # a JSON integer, all of its digits even past 2^53
        elif rng.random() < 0.2:
            text = repr(float(v))  # the float32 value as a double's 17 digits
        elif rng.random() < 0.15 and np.isfinite(np.nextafter(v, np.float32(np.inf))):
            # A double that is not a float32: half way to the next float32, or one double
            # ulp either side of half way. XGBoost reads np.float32(double), correctly
            # rounded (ties to even); the row takes that value.
            up = np.nextafter(v, np.float32(np.inf))
            d = (float(v) + float(up)) / 2
            d = [d, math.nextafter(d, math.inf), math.nextafter(d, -math.inf)][int(rng.integers(0, 3))]
            row[j] = np.float32(d)
            text = repr(d)
        else:
            text = f32_text(v)
        parts.append(key + ": " + text)
    if rng.random() < 0.2:
        parts.append('"zz_unused": "text"')
    return "{" + ", ".join(parts) + "}"


# ---------------------------------------------------------------- gbdt
def leaf_sums(model, booster, x, names):
    """For each row, the exact (float64) sum of XGBoost's chosen leaves and sum of |leaf|."""
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    leaves = booster.predict(xgb.DMatrix(x, missing=np.nan, feature_names=names), pred_leaf=True).reshape(len(x), -1)
    exact = np.zeros(len(x))
    mag = np.zeros(len(x))
    for t, tree in enumerate(trees):
        vals = np.asarray(tree["split_conditions"], dtype=np.float64)[leaves[:, t].astype(int)]
        exact += vals
        mag += np.abs(vals)
    return exact, mag


def base_margin(objective, base_score):
    if objective in ("binary:logistic", "reg:logistic"):
        return -math.log(1.0 / base_score - 1.0)
    return base_score


def gbdt_tolerance(objective, n_trees, base, mag, ref):
    tol_m = 4.0 * (n_trees + 2) * U * (abs(base) + mag) + 1e-45
    if objective in ("binary:logistic", "reg:logistic"):
        p = np.asarray(ref, dtype=np.float64)
        return np.maximum(p * (1 - p), 0) * tol_m * 1.5 + 8 * U * np.abs(p) + 1e-44
    return tol_m


def random_xgb_model(rng, idx):
    objective = str(rng.choice(OBJECTIVES))
    n_features = int(rng.integers(1, 13))
    kinds = make_columns(rng, n_features)
    missing_rate = float(rng.choice([0.0, 0.0, 0.05, 0.3]))
    n = int(rng.integers(30, 400))
    x = make_rows(rng, kinds, n, missing_rate)
    signal = np.nan_to_num(x[:, 0].astype(np.float64))
    signal = np.sign(signal) * np.log1p(np.abs(signal)) + rng.normal(size=n)
    if objective in ("binary:logistic", "binary:logitraw"):
        y = (signal > 0).astype(np.float32)
    elif objective == "reg:logistic":
        y = (1 / (1 + np.exp(-signal))).astype(np.float32)
    else:
        y = (signal * float(rng.choice([1, 100, 1e-3]))).astype(np.float32)
    params = {"objective": objective, "max_depth": int(rng.integers(1, 11)),
              "eta": float(rng.choice([0.05, 0.3, 1.0])), "nthread": 1, "seed": idx,
              "tree_method": str(rng.choice(["exact", "approx", "hist"])),
              "min_child_weight": float(rng.choice([0, 1])), "verbosity": 0}
    if rng.random() < 0.5:
        if objective in ("binary:logistic", "reg:logistic"):
            params["base_score"] = float(rng.uniform(0.01, 0.99))
        else:
            params["base_score"] = float(rng.normal() * 10)
    if rng.random() < 0.3:
        params["gamma"] = float(rng.choice([0.1, 1.0]))
    if rng.random() < 0.3:
        params["colsample_bytree"] = 0.5
    if rng.random() < 0.2:  # a forest per round: still one output group
        params["num_parallel_tree"] = int(rng.integers(2, 5))
        params["subsample"] = 0.7
    n_trees = int(rng.choice([1, 2, 5, 20, int(rng.integers(1, 301))]))
    names = None
    if rng.random() < 0.5:
        names = ["feat_%d" % j for j in range(n_features)]
        if rng.random() < 0.3:  # names JSON escapes: accents, spaces, quotes, astral planes
            odd = ["é%d", "a b%d", 'q"%d', "back\\slash%d", "tab\t%d", "\U0001F600%d", "%d"]
            names = [odd[j % len(odd)] % j for j in range(n_features)]
    d = xgb.DMatrix(x, label=y, missing=np.nan, feature_names=names)
    booster = xgb.train(params, d, n_trees)
    return booster, objective, kinds, names, x, missing_rate, params


def test_rows(rng, model, kinds, x_train, missing_rate):
    x = make_rows(rng, kinds, 60, missing_rate)
    x = np.vstack([x, x_train[rng.integers(len(x_train), size=20)]])
    extra = [np.full(len(kinds), np.nan, dtype=np.float32)]  # every feature missing
    splits = tree_splits(model)
    for k in rng.permutation(len(splits))[:60]:
        f, cond = splits[k]
        row = x[rng.integers(len(x))].copy()
        c = np.float32(cond)
        row[f] = [c, c, np.nextafter(c, np.float32(np.inf)), np.nextafter(c, np.float32(-np.inf)),
                  -c][int(rng.integers(0, 5))]
        if np.isinf(row[f]):
            row[f] = c
        extra.append(row)
    return np.vstack([x, np.array(extra, dtype=np.float32)])


class Checker:
    def __init__(self, conn, keep):
        self.conn = conn
        self.cur = conn.cursor()
        self.keep = keep
        self.failures = 0
        self.checked_rows = 0
        self.exact = 0  # gbdt scores bit for bit equal to XGBoost's
        self.compared = 0

    def q(self, sql, args=None):
        self.cur.execute(sql, args)
        return self.cur.fetchall()

    def score_all(self, name, inputs):
        """score, score_batch and score_batched (with a random batch size) of the inputs."""
        one = [r[0] for r in self.q(
            "SELECT ai_scale.score(%s, i::jsonb) FROM unnest(%s::text[]) WITH ORDINALITY AS t(i, o) "
            "ORDER BY o", (name, inputs))]
        batch = self.q("SELECT ai_scale.score_batch(%s, %s::text[]::jsonb[])", (name, inputs))[0][0]
        rows = int(np.random.default_rng(len(inputs)).choice([1, 7, 64, 4096]))
        self.cur.execute("SET ai_scale.score_batch_rows = %s", (rows,))
        window = [r[0] for r in self.q(
            "SELECT ai_scale.score_batched(%s, i::jsonb) OVER (ORDER BY o) FROM "
            "unnest(%s::text[]) WITH ORDINALITY AS t(i, o) ORDER BY o", (name, inputs))]
        self.cur.execute("RESET ai_scale.score_batch_rows")
        return {"score": np.array(one, dtype=np.float64),
                "score_batch": np.array(batch, dtype=np.float64),
                "score_batched": np.array(window, dtype=np.float64)}

    def report(self, what, bad, detail):
        self.failures += 1
        print("MISMATCH %s: %d rows; %s" % (what, int(np.sum(bad)), detail), flush=True)

    def check_gbdt(self, rng, idx):
        booster, objective, kinds, names, x_train, missing_rate, params = random_xgb_model(rng, idx)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "x.json")
            booster.save_model(path)
            with open(path) as f:
                text = f.read()
        model = json.loads(text)
        x = test_rows(rng, model, kinds, x_train, missing_rate)
        feature_names = names or ["f%d" % j for j in range(len(kinds))]
        inputs = [encode_row(rng, feature_names, kinds, row) for row in x]
        ref = booster.predict(xgb.DMatrix(x, missing=np.nan, feature_names=names)).astype(np.float64)
        ref_inplace = booster.inplace_predict(x, missing=np.nan).astype(np.float64)
        name = "xd_gbdt_%d" % idx
        try:
            self.q("SELECT ai_scale.import_xgboost(%s, %s::jsonb)", (name, text))
        except psycopg2.Error as e:
            self.report("gbdt %d import" % idx, np.array([True]), "%s %s" % (e.pgcode, e.pgerror))
            return
        n_trees = len(model["learner"]["gradient_booster"]["model"]["trees"])
        base = base_margin(objective, float(model["learner"]["learner_model_param"]["base_score"]))
        exact, mag = leaf_sums(model, booster, x, names)
        tol = gbdt_tolerance(objective, n_trees, base, mag, ref)
        got = self.score_all(name, inputs)
        got["inplace_predict"] = ref_inplace
        self.checked_rows += len(x)
        failed = False
        for form, vals in got.items():
            diff = np.abs(vals - ref)
            self.exact += int(np.sum(vals == ref))
            self.compared += len(vals)
            bad = ~(diff <= tol)
            if bad.any():
                failed = True
                i = int(np.argmax(np.where(bad, diff, -1)))
                self.report("gbdt %d %s (%s, %d trees, depth %d, %s)" % (
                    idx, form, objective, n_trees, params["max_depth"], params["tree_method"]),
                    bad, "row %d input %s: got %r, xgboost %r, tol %.3g" % (
                        i, inputs[i], vals[i], ref[i], tol[i]))
        if failed and self.keep:
            os.makedirs(self.keep, exist_ok=True)
            with open(os.path.join(self.keep, name + ".json"), "w") as f:
                f.write(text)
            with open(os.path.join(self.keep, name + "_cases.jsonl"), "w") as f:
                for i, (inp, p) in enumerate(zip(inputs, ref)):
                    f.write(json.dumps({"id": i + 1, "input": json.loads(inp),
                                        "expected": float(p)}) + "\n")
        self.q("SELECT ai_scale.drop_model(%s)", (name,))

    # ------------------------------------------------------------ linear, logistic, mlp
    def check_dense(self, rng, idx):
        kind = str(rng.choice(["linear", "logistic", "mlp"]))
        n_features = int(rng.integers(1, 40))
        kinds = [str(rng.choice(["normal", "integer", "boolean", "signed_zero", "constant"]))
                 for _ in range(n_features)]
        names = ["x%d" % j for j in range(n_features)]
        scale = float(rng.choice([1e-3, 1, 1e3]))
        defaults = {names[j]: float(np.float32(rng.normal()))
                    for j in range(n_features) if rng.random() < 0.7}
        f32 = lambda a: np.asarray(a, dtype=np.float32)
        if kind in ("linear", "logistic"):
            w = f32(rng.normal(size=n_features) * scale)
            b = np.float32(rng.normal())
            params = {"weights": [float(v) for v in w], "bias": float(b), "defaults": defaults}
            layers = [(w.reshape(1, -1), np.array([b], dtype=np.float32),
                       "sigmoid" if kind == "logistic" else "identity")]
        else:
            n_out = int(rng.choice([1, 1, 2, 3]))
            sizes = [n_features] + [int(rng.integers(1, 33)) for _ in range(int(rng.integers(1, 5)))] + [n_out]
            layers, jl = [], []
            for l in range(len(sizes) - 1):
                w = f32(rng.normal(size=(sizes[l + 1], sizes[l])) / math.sqrt(sizes[l]))
                b = f32(rng.normal(size=sizes[l + 1]) * 0.1)
                act = str(rng.choice(["identity", "relu", "tanh", "sigmoid"]))
                layers.append((w, b, act))
                jl.append({"weights": [[float(v) for v in r] for r in w],
                           "bias": [float(v) for v in b], "activation": act})
            params = {"layers": jl, "defaults": defaults}
        name = "xd_%s_%d" % (kind, idx)
        self.q("SELECT ai_scale.register_model(%s, %s, %s, %s::jsonb)",
               (name, kind, names, json.dumps(params)))
        x = make_rows(rng, kinds, 80, 0.1)
        for j in range(n_features):  # a missing feature without a default would be an error
            if names[j] not in defaults:
                col = x[:, j]
                col[np.isnan(col)] = 1.0
        inputs = [encode_row(rng, names, kinds, row) for row in x]
        xd = np.array([[defaults[names[j]] if np.isnan(v) else v for j, v in enumerate(r)]
                       for r in x], dtype=np.float64)
        # float64 forward pass with a propagated error bound for a float32 computation.
        a, err = xd, np.zeros_like(xd)
        for w, b, act in layers:
            w64, b64 = w.astype(np.float64), b.astype(np.float64)
            z = a @ w64.T + b64
            n_in = w.shape[1]
            err = err @ np.abs(w64).T + (n_in + 2) * U * (np.abs(a) @ np.abs(w64).T + np.abs(b64))
            if act == "relu":
                a = np.maximum(z, 0)
            elif act == "tanh":
                a = np.tanh(z)
            elif act == "sigmoid":
                with np.errstate(over="ignore"):  # exp(-z) = inf gives 0, as it should
                    a = 1 / (1 + np.exp(-z))
                err = err * 0.25
            else:
                a = z
            err = err + 4 * U * np.abs(a) + 1e-44
        if a.shape[1] > 1:  # several outputs: score_multi and score_multi_batch, output by output
            got = {"score_multi": np.array([r[0] for r in self.q(
                "SELECT ai_scale.score_multi(%s, i::jsonb) FROM unnest(%s::text[]) "
                "WITH ORDINALITY AS t(i, o) ORDER BY o", (name, inputs))], dtype=np.float64),
                   "score_multi_batch": np.array(self.q(
                "SELECT ai_scale.score_multi_batch(%s, %s::text[]::jsonb[])", (name, inputs))[0][0],
                dtype=np.float64)}
            ref, tol = a, 2 * err
        else:
            ref, tol = a[:, 0], 2 * err[:, 0]
            got = self.score_all(name, inputs)
        self.checked_rows += len(x)
        for form, vals in got.items():
            diff = np.abs(vals - ref)
            bad = ~(diff <= tol)
            if bad.any():
                i = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), bad.shape)[0]
                self.report("%s %d %s" % (kind, idx, form), bad,
                            "row %d input %s: got %r, numpy %r, tol %.3g" % (
                                i, inputs[i], vals[i], ref[i], tol[i]))
        self.q("SELECT ai_scale.drop_model(%s)", (name,))

    # ------------------------------------------------------------ refusals
    def expect_refused(self, what, doc, code="22023"):
        try:
            self.q("SELECT ai_scale.import_xgboost('xd_refused', %s::jsonb)", (doc,))
            self.q("SELECT ai_scale.drop_model('xd_refused')")
            self.report("refusal " + what, np.array([True]), "imported, should be refused")
        except psycopg2.Error as e:
            ok = e.pgcode == code
            print("%s refused: %s %s" % ("ok  " if ok else "BAD ", e.pgcode,
                                          e.pgerror.splitlines()[0] if e.pgerror else ""))
            if not ok:
                self.failures += 1

    def check_refusals(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.float32)

        def raw(params, label=y, rounds=3, dm=None):
            b = xgb.train(dict(params, verbosity=0), dm or xgb.DMatrix(x, label=label), rounds)
            return b.save_raw("json").decode()
        yc = (np.abs(x[:, 0]) * 2).astype(int).clip(0, 2).astype(np.float32)
        self.expect_refused("multi:softprob", raw({"objective": "multi:softprob", "num_class": 3}, yc))
        self.expect_refused("multi:softmax", raw({"objective": "multi:softmax", "num_class": 3}, yc))
        self.expect_refused("multi-target", raw({"tree_method": "hist"}, np.stack([y, 1 - y], 1)))
        self.expect_refused("dart", raw({"booster": "dart", "rate_drop": 0.1}))
        self.expect_refused("gblinear", raw({"booster": "gblinear"}))
        xc = x.copy()
        xc[:, 0] = np.abs(np.round(xc[:, 0] * 2))
        dm = xgb.DMatrix(xc, label=y, feature_types=["c", "q", "q", "q"], enable_categorical=True)
        cat = raw({"tree_method": "hist", "max_cat_to_onehot": 1}, dm=dm)
        # XGBoost writes a categorical split's condition as NaN, which is not JSON: the cast
        # to jsonb refuses the file (22P02) before ai_scale sees it. With the NaNs made
        # numbers, ai_scale must refuse it itself.
        self.expect_refused("categorical", cat, "22P02")
        self.expect_refused("categorical, NaN as 0", cat.replace("NaN", "0"))
        no_types = json.loads(cat.replace("NaN", "0"))
        del no_types["learner"]["feature_types"]
        self.expect_refused("categorical splits, no feature_types", json.dumps(no_types))
        for obj in ["count:poisson", "reg:gamma", "reg:tweedie", "binary:hinge", "rank:pairwise",
                    "reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror",
                    "survival:cox"]:
            lab = np.abs(y) + (1 if obj in ("reg:gamma",) else 0)
            self.expect_refused(obj, raw({"objective": obj}, lab))
        good = json.loads(raw({"objective": "binary:logistic"}))
        for key, val in [("base_score", "nan"), ("base_score", "inf"), ("base_score", "-inf"),
                         ("num_feature", "4.5"), ("num_class", "nan"), ("num_target", "2")]:
            bad = json.loads(json.dumps(good))
            bad["learner"]["learner_model_param"][key] = val
            self.expect_refused("%s=%s" % (key, val), json.dumps(bad))
        self.expect_refused("dump_model json", "[" + ",".join(
            xgb.train({"verbosity": 0}, xgb.DMatrix(x, label=y), 2).get_dump(dump_format="json")) + "]")
        self.expect_refused("deep", "[" * 300 + "]" * 300)
        bad = json.loads(json.dumps(good))
        bad["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"][0] = 1e39
        self.expect_refused("threshold beyond float4", json.dumps(bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default="")
    ap.add_argument("--models", type=int, default=100, help="random gbdt models")
    ap.add_argument("--dense", type=int, default=None, help="random linear/logistic/mlp models")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", default="/tmp/ai_scale_diff")
    args = ap.parse_args()
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    c = Checker(conn, args.keep)
    c.cur.execute("SET client_min_messages = warning")
    c.cur.execute("CREATE EXTENSION IF NOT EXISTS ai_scale")
    c.check_refusals()
    for i in range(args.models):
        c.check_gbdt(np.random.default_rng([args.seed, i]), i)
    for i in range(args.models if args.dense is None else args.dense):
        c.check_dense(np.random.default_rng([args.seed, 10 ** 6 + i]), i)
    print("%d rows checked, %d mismatches; gbdt scores equal to XGBoost's bit for bit: %d of %d"
          % (c.checked_rows, c.failures, c.exact, c.compared))
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
