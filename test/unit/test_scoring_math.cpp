// The per-row formulas (model_math.hpp, shared with the CUDA kernels) and model compilation.
#include "scoring/model.hpp"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>

using namespace ai_scale::scoring;

namespace {

compiled_model compile(const char* kind, std::vector<std::string> features, const char* params)
{
    return compile_model(parse_kind(kind), features, json::parse(params));
}

float score_one(const compiled_model& m, std::vector<float> x)
{
    float out = 0;
    m.score_rows(x.data(), 1, &out);
    return out;
}

} // namespace

TEST(ScoringMath, LinearAndLogistic)
{
    auto lin = compile("linear", {"a", "b", "c"}, R"({"weights": [1.5, -2, 0.25], "bias": 3})");
    EXPECT_FLOAT_EQ(score_one(lin, {2, 1, 4}), 3 + 3 - 2 + 1);
    auto log = compile("logistic", {"a", "b"}, R"({"weights": [1, -1], "bias": 0.5})");
    EXPECT_NEAR(score_one(log, {2, 1}), 1.0 / (1.0 + std::exp(-1.5)), 1e-7);
    EXPECT_FLOAT_EQ(score_one(log, {0, 0.5}), 0.5f);
}

// Each number of params is the float nearest its text, rounded once, as XGBoost reads a model
// and import_xgboost writes one: read through the nearest double, a text just above half way
// between two floats (whose double is exactly half way) went to the even float, below it, and
// the same threshold scored otherwise through register_model than through import_xgboost.
TEST(ScoringMath, ParamsAreTheFloatsNearestTheirTexts)
{
    const std::pair<const char*, float> cases[] = {
        {"1.00000005960464477539062501", 1.00000012f},
        {"1.000000059604644775390625", 1.0f}, // the tie itself: to even
        {"1.00000005960464477539062499", 1.0f},
        {"3.4028235e38", FLT_MAX},
    };
    for (const auto& c : cases) {
        auto lin =
            compile("linear", {"a"},
                    (std::string(R"({"weights": [)") + c.first + R"(], "bias": 0})").c_str());
        EXPECT_EQ(score_one(lin, {1}), c.second) << c.first;
    }
    EXPECT_THROW(compile("linear", {"a"}, R"({"weights": [3.40282357e38], "bias": 0})"),
                 model_error);
}

// A classifier's weights given per class (scikit-learn's coef_, 1 x n for two classes) are told
// of as such, not by their count; scikit-learn's name for the sigmoid is taken.
TEST(ScoringMath, WeightsPerClassAndActivationNames)
{
    try {
        compile("logistic", {"a", "b"}, R"({"weights": [[1, -1]], "bias": 0.5})");
        ADD_FAILURE() << "weights per class accepted";
    } catch (const model_error& e) {
        EXPECT_NE(std::string(e.what()).find("must be a flat array of numbers"), std::string::npos)
            << e.what();
    }
    // (Empty weights are refused by their count: read as weights per class, a crash.)
    EXPECT_THROW(compile("logistic", {"a", "b"}, R"({"weights": []})"), model_error);
    EXPECT_THROW(compile("linear", {"a"}, R"({"weights": []})"), model_error);
    auto sigmoid =
        compile("mlp", {"a"}, R"({"layers": [{"weights": [[2]], "activation": "sigmoid"}]})");
    auto logistic =
        compile("mlp", {"a"}, R"({"layers": [{"weights": [[2]], "activation": "logistic"}]})");
    EXPECT_EQ(score_one(logistic, {0.75f}), score_one(sigmoid, {0.75f}));
    EXPECT_NEAR(score_one(logistic, {0.75f}), 1.0 / (1.0 + std::exp(-1.5)), 1e-7);
    EXPECT_THROW(
        compile("mlp", {"a"}, R"({"layers": [{"weights": [[2]], "activation": "softmax"}]})"),
        model_error);
}

TEST(ScoringMath, MlpLayersAndActivations)
{
    auto m = compile("mlp", {"a", "b"}, R"({"layers": [
        {"weights": [[1, -1], [2, 0.5], [-1, -1]], "bias": [0, -1, 0.5], "activation": "relu"},
        {"weights": [[1, 1, 1], [0.5, -0.5, 2]], "bias": [0.1, 0], "activation": "tanh"},
        {"weights": [[1, -2]], "activation": "sigmoid"}]})");
    float a = 0.75f, b = -0.5f;
    double h[3] = {std::max(0.0, a - b + 0.0), std::max(0.0, 2.0 * a + 0.5 * b - 1),
                   std::max(0.0, -a - b + 0.5)};
    double g0 = std::tanh(h[0] + h[1] + h[2] + 0.1),
           g1 = std::tanh(0.5 * h[0] - 0.5 * h[1] + 2 * h[2]);
    EXPECT_NEAR(score_one(m, {a, b}), 1.0 / (1.0 + std::exp(-(g0 - 2 * g1))), 1e-6);
    EXPECT_EQ(m.n_outputs, 1);
    auto two = compile("mlp", {"a"}, R"({"layers": [{"weights": [[2], [-3]], "bias": [1, 0]}]})");
    EXPECT_EQ(two.n_outputs, 2);
    float x = 2, out[2];
    two.score_rows(&x, 1, out);
    EXPECT_FLOAT_EQ(out[0], 5);
    EXPECT_FLOAT_EQ(out[1], -6);
}

// Node 0 splits on feature 1 at 0.5 (missing goes right); node 1 (left) on feature 0 at -1
// (missing goes left). Deliberately not breadth first with adjacent siblings in the input.
const char* one_tree = R"({"objective": "reg:squarederror", "base_score": 0.25, "trees": [{
    "left_children":    [3, -1, -1, 4, -1, -1],
    "right_children":   [1, -1, -1, 5, -1, -1],
    "split_indices":    [1, 0, 0, 0, 0, 0],
    "split_conditions": [0.5, 7, 0, -1, 10, 20],
    "default_left":     [0, 0, 0, 1, 0, 0]}]})";

TEST(ScoringMath, GbdtTraversalAndMissing)
{
    auto m = compile("gbdt", {"f0", "f1"}, one_tree);
    EXPECT_EQ(m.node_feature.size(), 5u) << "unreachable node 2 is dropped";
    // Breadth first, siblings adjacent: children come after their parent, right = left + 1.
    for (size_t i = 0; i < m.node_left.size(); i++)
        if (m.node_feature[i] >= 0) {
            EXPECT_GT(m.node_left[i], int32_t(i));
            EXPECT_LT(size_t(m.node_left[i]) + 1, m.node_left.size());
        }
    EXPECT_FLOAT_EQ(score_one(m, {-2, 0}), 10.25f);  // f1 < 0.5, f0 < -1
    EXPECT_FLOAT_EQ(score_one(m, {-1, 0}), 20.25f);  // f0 == threshold goes right
    EXPECT_FLOAT_EQ(score_one(m, {0, 0.5}), 7.25f);  // f1 == threshold goes right
    EXPECT_FLOAT_EQ(score_one(m, {NAN, 0}), 10.25f); // node 3: missing goes left
    EXPECT_FLOAT_EQ(score_one(m, {0, NAN}), 7.25f);  // node 0: missing goes right
    // So does the per-row formula the GPU kernel runs (it has its own comparison, which no
    // check fed a feature equal to a threshold: one splitting with <= passed every test).
    gbdt_view v = m.gbdt();
    const float at_f0[] = {-1, 0}, at_f1[] = {0, 0.5f};
    EXPECT_FLOAT_EQ(gbdt_score(v, at_f0), 20.25f);
    EXPECT_FLOAT_EQ(gbdt_score(v, at_f1), 7.25f);
    // The batch path agrees with the per-row formula on many rows (blocks of 64), thresholds
    // (-1 for f0, 0.5 for f1) among them.
    std::vector<float> rows, out(1000);
    for (int r = 0; r < 1000; r++) {
        rows.push_back(r % 7 == 0 ? NAN : float(r % 5) - 3.0f);
        rows.push_back(r % 11 == 0 ? NAN : float(r % 3) * 0.25f);
    }
    m.score_rows(rows.data(), 1000, out.data());
    for (int r = 0; r < 1000; r++)
        EXPECT_EQ(out[size_t(r)], gbdt_score(v, rows.data() + 2 * r));
}

TEST(ScoringMath, GbdtLogisticBaseScore)
{
    auto m = compile("gbdt", {"f0"}, R"({"objective": "binary:logistic", "base_score": 0.2,
        "trees": [{"left_children": [-1], "right_children": [-1], "split_indices": [0],
                   "split_conditions": [0.3], "default_left": [0]}]})");
    float x = 0;
    double margin = std::log(0.2 / 0.8) + 0.3;
    EXPECT_NEAR(score_one(m, {x}), 1 / (1 + std::exp(-margin)), 1e-7);
}

// A base_score within a float4 step of 0 or 1 has an infinite margin, with which every score
// failed (22003): refused when compiled, as any other invalid model; the nearest accepted work.
TEST(ScoringMath, GbdtLogisticBaseScoreWithInfiniteMarginRefused)
{
    auto with = [](const char* base_score) {
        return std::string(R"({"objective": "binary:logistic", "base_score": )") + base_score +
               R"(, "trees": [{"left_children": [-1], "right_children": [-1],
                   "split_indices": [0], "split_conditions": [0.3], "default_left": [0]}]})";
    };
    for (const char* bad : {"1e-39", "2.9e-39", "0.99999999"})
        EXPECT_THROW(compile("gbdt", {"f0"}, with(bad).c_str()), model_error) << bad;
    for (const char* good : {"1e-30", "0.9999"}) {
        auto m = compile("gbdt", {"f0"}, with(good).c_str());
        EXPECT_TRUE(std::isfinite(score_one(m, {0.0f}))) << good;
    }
}

// A sum that overflows float is NaN at the output (which the SQL functions refuse with 22003),
// also when an activation follows it: sigmoid(inf) = 1, tanh(inf) = 1 and relu(-inf) = 0 gave
// finite scores where the exact sums here are 0 (scores 0.5, 0 and 0).
TEST(ScoringMath, OverflowedSumsAreNotSquashed)
{
    const std::vector<float> x = {3, 3, 3, 3};
    auto log =
        compile("logistic", {"a", "b", "c", "d"}, R"({"weights": [1e38, 1e38, -1e38, -1e38]})");
    EXPECT_TRUE(std::isnan(score_one(log, x)));
    EXPECT_TRUE(std::isnan(linear_score(log.linear(), x.data())));
    for (const char* act : {"tanh", "sigmoid", "relu", "identity"}) {
        std::string params = std::string(R"({"layers": [{"weights": [[1e38, 1e38, -1e38, -1e38],
            [-1e38, -1e38, -1e38, -1e38]], "activation": ")") +
                             act + R"("}, {"weights": [[1, 0]], "activation": "relu"}]})";
        auto mlp = compile("mlp", {"a", "b", "c", "d"}, params.c_str());
        EXPECT_TRUE(std::isnan(score_one(mlp, x))) << act;
    }
    // Leaves of 3e38 sum to infinity, which XGBoost's capped sigmoid takes to 1.
    auto gbdt = compile("gbdt", {"f0"}, R"({"objective": "binary:logistic", "trees": [
        {"left_children": [-1], "right_children": [-1], "split_indices": [0],
         "split_conditions": [3e38], "default_left": [0]},
        {"left_children": [-1], "right_children": [-1], "split_indices": [0],
         "split_conditions": [3e38], "default_left": [0]}]})");
    EXPECT_TRUE(std::isnan(score_one(gbdt, {0})));
    float row = 0;
    EXPECT_TRUE(std::isnan(gbdt_score(gbdt.gbdt(), &row)));
    // Finite sums are untouched.
    auto fine = compile("logistic", {"a"}, R"({"weights": [1e38]})");
    EXPECT_EQ(score_one(fine, {1}), 1.0f);
}

// same_expf and same_tanhf (the activations' e^x and tanh, the same on the CPU and the GPU)
// give the correctly rounded float, here the float nearest the long double result, over a
// sweep of floats across their whole range; the sweep steps by an odd number of bit patterns
// so it covers every exponent and many mantissas.
TEST(ScoringMath, ExpAndTanhAreCorrectlyRounded)
{
    int64_t checked = 0, exp_wrong = 0, tanh_wrong = 0;
    for (uint64_t bits = 0; bits < (uint64_t(1) << 32); bits += 1999) {
        const uint32_t b = uint32_t(bits);
        float x;
        std::memcpy(&x, &b, sizeof x);
        if (!(std::fabs(x) < 110.0f))
            continue;
        checked++;
        const float e = same_expf(x), want_e = float(expl((long double)x));
        const float t = same_tanhf(x), want_t = float(tanhl((long double)x));
        if (std::memcmp(&e, &want_e, sizeof e) != 0 && exp_wrong++ < 5)
            ADD_FAILURE() << "same_expf(" << x << ") = " << e << ", want " << want_e;
        if (std::memcmp(&t, &want_t, sizeof t) != 0 && tanh_wrong++ < 5)
            ADD_FAILURE() << "same_tanhf(" << x << ") = " << t << ", want " << want_t;
    }
    EXPECT_GT(checked, 1000000);
    EXPECT_EQ(exp_wrong, 0);
    EXPECT_EQ(tanh_wrong, 0);
}

TEST(ScoringMath, ExpAndTanhAtTheEdges)
{
    EXPECT_EQ(same_expf(0.0f), 1.0f);
    EXPECT_EQ(same_expf(-104.0f), 0.0f);
    EXPECT_GT(same_expf(-103.9f), 0.0f);                            // a subnormal float
    EXPECT_EQ(same_expf(88.72f), float(expl((long double)88.72f))); // near the largest float
    EXPECT_EQ(same_expf(88.73f), INFINITY);
    EXPECT_EQ(same_expf(-INFINITY), 0.0f);
    EXPECT_EQ(same_expf(INFINITY), INFINITY);
    EXPECT_TRUE(std::isnan(same_expf(NAN)));
    EXPECT_EQ(same_tanhf(INFINITY), 1.0f);
    EXPECT_EQ(same_tanhf(-INFINITY), -1.0f);
    EXPECT_EQ(same_tanhf(20.0f), 1.0f);
    EXPECT_TRUE(std::signbit(same_tanhf(-0.0f)));
    EXPECT_EQ(same_tanhf(1e-30f), 1e-30f);
    EXPECT_TRUE(std::isnan(same_tanhf(NAN)));
    EXPECT_EQ(sigmoid(0.0f), 0.5f);
    EXPECT_EQ(sigmoid(-200.0f), 0.0f);
    EXPECT_EQ(sigmoid(200.0f), 1.0f);
}

TEST(ScoringMath, FingerprintFollowsParams)
{
    auto a = compile("linear", {"a"}, R"({"weights": [1]})");
    auto b = compile("linear", {"a"}, R"({"weights": [1]})");
    auto c = compile("linear", {"a"}, R"({"weights": [1.5]})");
    EXPECT_EQ(a.fingerprint, b.fingerprint);
    EXPECT_NE(a.fingerprint, c.fingerprint);
}

TEST(ScoringMath, InvalidModelsAreRefused)
{
    const char* bad[][3] = {
        {"linear", "a", R"({"weights": [1, 2]})"},
        {"linear", "a", R"({"weights": [1], "bias": 1e40})"},
        {"logistic", "a", R"({"weights": [null]})"},
        {"mlp", "a", R"({"layers": [{"weights": [[1]], "activation": "gelu"}]})"},
        {"mlp", "a", R"({"layers": [{"weights": []}]})"},
        {"gbdt", "a", R"({"trees": [{"left_children": [1, -1], "right_children": [1, -1],
            "split_indices": [0, 0], "split_conditions": [0, 0], "default_left": [0, 0]}]})"},
        {"gbdt", "a", R"({"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1],
            "split_indices": [0, 0, 0], "split_conditions": [0, 0, 0], "default_left": [0, 0, 0],
            "split_type": [1, 0, 0]}]})"},
        {"gbdt", "a", R"({"trees": [{"left_children": [0], "right_children": [0],
            "split_indices": [0], "split_conditions": [0], "default_left": [0]}]})"},
    };
    for (auto& b : bad)
        EXPECT_THROW(compile(b[0], {b[1]}, b[2]), model_error) << b[2];
    EXPECT_THROW(parse_kind("svm"), model_error);
    // FLT_MAX written as its shortest text is a float4; past the overflow tie is not.
    EXPECT_EQ(compile("linear", {"a"}, R"({"weights": [3.4028235e38]})").weights[0], FLT_MAX);
    EXPECT_THROW(compile("linear", {"a"}, R"({"weights": [3.4028236e38]})"), model_error);
    EXPECT_THROW(compile("linear", {"a", "a"}, R"({"weights": [1, 1]})"), model_error);
}

TEST(ScoringMath, ChildIndexErrorSaysHowManyNodes)
{
    auto detail_of = [](const char* params) {
        try {
            compile("gbdt", {"a"}, params);
        } catch (const model_error& e) {
            return e.detail;
        }
        return std::string("accepted");
    };
    EXPECT_EQ(detail_of(R"({"trees": [{"left_children": [1], "right_children": [2],
        "split_indices": [0], "split_conditions": [0], "default_left": [0]}]})"),
              "The tree has 1 node.");
    EXPECT_EQ(detail_of(R"({"trees": [{"left_children": [5, -1], "right_children": [1, -1],
        "split_indices": [0, 0], "split_conditions": [0, 0], "default_left": [0, 0]}]})"),
              "The tree has 2 nodes.");
}

// A child that is node 0 is in range, but the root: a cycle, said as such (it was "child index 0
// out of range").
TEST(ScoringMath, RootAsAChildIsACycle)
{
    try {
        compile("gbdt", {"a"}, R"({"trees": [{"left_children": [0], "right_children": [0],
            "split_indices": [0], "split_conditions": [0], "default_left": [0]}]})");
        ADD_FAILURE() << "accepted";
    } catch (const model_error& e) {
        EXPECT_NE(std::string(e.what()).find("node 0 has node 0, the root, as a child"),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(e.detail, "A tree's nodes must form a tree rooted at node 0.");
    }
}

TEST(ScoringJson, ParsesAndRejects)
{
    json::value v = json::parse(R"( {"a": [1, -2.5e3, true, null, "x\u00e9\n"], "b": {}} )");
    ASSERT_TRUE(v.is_object());
    const json::value* a = v.find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->items().size(), 5u);
    EXPECT_DOUBLE_EQ(a->items()[1].num, -2500);
    EXPECT_EQ(a->items()[4].str(), "x\xc3\xa9\n");
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01x", "\"abc", "[1] 2", "tru", "-"})
        EXPECT_THROW(json::parse(bad), json::parse_error) << bad;
    EXPECT_THROW(json::parse(std::string(1000, '[')), json::parse_error);
}

// A value's contents are its own: a copy changed leaves the original as it was, and a value
// of another type reads as empty contents.
TEST(ScoringJson, CopiesAreDeepAndOtherTypesReadEmpty)
{
    json::value v = json::parse(R"({"a": ["x", [1, 2]], "n": 3})");
    json::value copy = v;
    copy.mutable_fields()[0].second.mutable_items()[0].mutable_str() = "changed";
    copy.mutable_fields()[0].second.mutable_items()[1].mutable_items().clear();
    EXPECT_EQ(v.find("a")->items()[0].str(), "x");
    EXPECT_EQ(v.find("a")->items()[1].items().size(), 2u);
    EXPECT_EQ(copy.find("a")->items()[0].str(), "changed");
    const json::value* n = v.find("n");
    ASSERT_NE(n, nullptr);
    EXPECT_TRUE(n->str().empty());
    EXPECT_TRUE(n->items().empty());
    EXPECT_TRUE(n->fields().empty());
    EXPECT_EQ(n->find("anything"), nullptr);
}

// A string written as JSON reads back as it was: an XGBoost feature name holding a backslash
// or a quote is kept, not read as an escape ("c:\\temp" became c:<TAB>emp when backslashes were
// written bare).
TEST(ScoringJson, WrittenStringsReadBackAsTheyWere)
{
    for (std::string text :
         {std::string("c:\\temp"), std::string("a\\x"), std::string("say \"hi\""),
          std::string("\\"), std::string("tab\there\nnl\x01"), std::string("caf\xc3\xa9"),
          std::string()}) {
        std::string doc;
        json::write_string(doc, text);
        EXPECT_EQ(json::parse(doc).str(), text) << doc;
    }
}

// A document of 256 levels is read, one of 257 refused (docs/scoring.md: no deeper than 256
// levels), with the reader's own error; 257 were read, the top level not counted.
TEST(ScoringJson, NestsToItsLimitAndNoDeeper)
{
    auto nested = [](int levels) {
        return std::string(size_t(levels), '[') + std::string(size_t(levels), ']');
    };
    EXPECT_NO_THROW(json::parse(nested(json::max_depth)));
    EXPECT_THROW(json::parse(nested(json::max_depth + 1)), json::parse_error);
    // A number or string in the deepest array or object is no level of its own.
    auto holding = [](int levels, const char* inside) {
        return std::string(size_t(levels), '[') + inside + std::string(size_t(levels), ']');
    };
    EXPECT_NO_THROW(json::parse(holding(json::max_depth, "1")));
    EXPECT_NO_THROW(json::parse(holding(json::max_depth, "\"s\"")));
    EXPECT_THROW(json::parse(holding(json::max_depth + 1, "1")), json::parse_error);
    std::string objects;
    for (int i = 0; i < json::max_depth; i++)
        objects += "{\"a\": ";
    EXPECT_NO_THROW(json::parse(objects + "1" + std::string(size_t(json::max_depth), '}')));
    // The error names the offset of the bracket refused, after any space before it.
    try {
        json::parse(objects + " {}" + std::string(size_t(json::max_depth), '}'));
        ADD_FAILURE() << "257 objects read";
    } catch (const json::parse_error& e) {
        EXPECT_NE(std::string(e.what()).find("at offset " + std::to_string(objects.size() + 1)),
                  std::string::npos)
            << e.what();
    }
}

// score_batch_rows looks for a cancel between blocks of rows whose work is about the same
// whatever the model: 1024 rows of a small one, one row of the largest mlp.
TEST(ScoringMath, RowsBetweenCancelChecksFollowTheModelsWork)
{
    auto lin = compile("linear", {"a", "b", "c"}, R"({"weights": [1.5, -2, 0.25], "bias": 3})");
    EXPECT_EQ(lin.rows_between_checks(), 1024);
    auto tree = compile("gbdt", {"f0", "f1"}, one_tree);
    EXPECT_EQ(tree.rows_between_checks(), 1024);

    compiled_model wide;
    wide.kind = model_kind::mlp;
    wide.sizes = {256, 256, 256}; // two layers of 256 x 256
    EXPECT_EQ(wide.rows_between_checks(), compiled_model::work_between_checks / (2 * 256 * 256));
    wide.sizes.assign(max_mlp_layers + 1, 256); // the largest mlp allowed
    EXPECT_EQ(wide.rows_between_checks(), 1);

    compiled_model forest;
    forest.kind = model_kind::gbdt;
    forest.tree_depth.assign(500, 8); // 500 trees of depth 8: 4500 levels a row, 932 rows
    EXPECT_EQ(forest.rows_between_checks(), 896); // in whole blocks of 64, as trees are walked
    // Past the work of 64 rows: 64 all the same.
    forest.tree_depth.assign(100000, 8);
    EXPECT_EQ(forest.rows_between_checks(), 64);
}

TEST(ScoringMath, DefaultsLandOnTheirFeatures)
{
    auto m = compile("linear", {"a", "b", "c"},
                     R"({"weights": [1, 1, 1], "defaults": {"c": 5, "a": 1.5}})");
    ASSERT_EQ(m.defaults.size(), 3u);
    EXPECT_FLOAT_EQ(m.defaults[0], 1.5f);
    EXPECT_TRUE(std::isnan(m.defaults[1]));
    EXPECT_FLOAT_EQ(m.defaults[2], 5);
    EXPECT_THROW(compile("linear", {"a"}, R"({"weights": [1], "defaults": {"b": 1}})"),
                 model_error);
}
