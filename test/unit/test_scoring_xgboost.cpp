// The XGBoost importer against models and predictions written by XGBoost 1.7.4 itself
// (test/scoring/make_xgboost_reference.py), without a server.
#include "scoring/model.hpp"
#include "scoring/interruption.hpp"
#include "scoring/xgboost.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace ai_scale::scoring;

namespace {

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void check_model(const std::string& name, double tolerance)
{
    std::string dir = AI_SCALE_TEST_DATA;
    xgboost_import imp = import_xgboost(json::parse(read_file(dir + "/" + name + ".json")));
    compiled_model m = compile_model(model_kind::gbdt, imp.features, json::parse(imp.params));
    std::ifstream cases(dir + "/" + name + "_cases.jsonl");
    std::string line;
    int n = 0;
    while (std::getline(cases, line)) {
        json::value c = json::parse(line);
        std::vector<float> row(m.features.size(), NAN);
        for (const auto& kv : c.find("input")->fields())
            for (size_t i = 0; i < m.features.size(); i++)
                if (m.features[i] == kv.first)
                    row[i] = float(kv.second.num);
        float out;
        m.score_rows(row.data(), 1, &out);
        double expected = c.find("expected")->num;
        EXPECT_LE(std::fabs(out - expected) / std::max(1.0, std::fabs(expected)), tolerance)
            << name << " case " << n;
        n++;
    }
    EXPECT_GT(n, 200);
}

} // namespace

TEST(ScoringXgboost, LogisticMatchesXgboost)
{
    check_model("xgb_logistic", 2e-6);
}
TEST(ScoringXgboost, RegressionMatchesXgboost)
{
    check_model("xgb_regression", 2e-6);
}

TEST(ScoringXgboost, FeatureNamesAndErrors)
{
    std::string dir = AI_SCALE_TEST_DATA;
    xgboost_import named = import_xgboost(json::parse(read_file(dir + "/xgb_logistic.json")));
    EXPECT_EQ(named.features,
              (std::vector<std::string>{"age", "income", "tenure", "visits", "score"}));
    xgboost_import unnamed = import_xgboost(json::parse(read_file(dir + "/xgb_regression.json")));
    EXPECT_EQ(unnamed.features.front(), "f0");
    EXPECT_EQ(unnamed.features.size(), 6u);
    // Newer XGBoost writes base_score as a one-element vector: "[5E-1]".
    json::value doc = json::parse(read_file(dir + "/xgb_logistic.json"));
    for (auto& f : doc.mutable_fields())
        if (f.first == "learner")
            for (auto& g : f.second.mutable_fields())
                if (g.first == "learner_model_param")
                    for (auto& h : g.second.mutable_fields())
                        if (h.first == "base_score")
                            h.second.mutable_str() = "[" + h.second.str() + "]";
    EXPECT_EQ(import_xgboost(doc).params, named.params);
    for (const char* bad :
         {"[]", "{}", R"({"learner": {"learner_model_param": {}}})",
          R"({"learner": {"learner_model_param": {"base_score": "0.5", "num_feature": "2"},
                                "objective": {"name": "binary:logistic"},
                                "gradient_booster": {"name": "dart", "model": {"trees": []}}}})"})
        EXPECT_THROW(import_xgboost(json::parse(bad)), model_error) << bad;
}

// A class count too large for any integer is reported, not converted (the fuzzer found the
// conversion, which is undefined behaviour).
TEST(ScoringXgboost, HugeClassCountIsAnError)
{
    const char* doc = R"({"learner": {"learner_model_param": {"base_score": "0.5",
                              "num_feature": "2", "num_class": "1e105"},
                          "objective": {"name": "multi:softprob"}}})";
    try {
        import_xgboost(json::parse(doc));
        FAIL() << "a multi-class model was accepted";
    } catch (const model_error& e) {
        EXPECT_NE(std::string(e.what()).find("multi-class"), std::string::npos) << e.what();
        EXPECT_NE(e.detail.find(" classes."), std::string::npos) << e.detail;
    }
}

// strtod reads "nan" and "inf", and a count must be whole: each is refused before it reaches
// the params (a NaN base_score was written into them as the invalid JSON token nan).
TEST(ScoringXgboost, NonFiniteOrFractionalParametersAreErrors)
{
    auto doc = [](const char* base_score, const char* num_feature, const char* num_class) {
        return std::string(R"({"learner": {"learner_model_param": {"base_score": ")") + base_score +
               R"(", "num_feature": ")" + num_feature + R"(", "num_class": ")" + num_class +
               R"("}, "objective": {"name": "reg:squarederror"},
                  "gradient_booster": {"name": "gbtree", "model": {"trees": [
                      {"left_children": [-1], "right_children": [-1], "split_indices": [0],
                       "split_conditions": [1], "default_left": [0]}]}}}})";
    };
    EXPECT_NO_THROW(import_xgboost(json::parse(doc("0.5", "2", "0"))));
    for (const char* base : {"nan", "NaN", "inf", "-Infinity", "[nan]"})
        EXPECT_THROW(import_xgboost(json::parse(doc(base, "2", "0"))), model_error) << base;
    for (const char* count : {"nan", "2.7", "inf"}) {
        EXPECT_THROW(import_xgboost(json::parse(doc("0.5", count, "0"))), model_error) << count;
        EXPECT_THROW(import_xgboost(json::parse(doc("0.5", "2", count))), model_error) << count;
    }
}

// XGBoost reads each number of the dump straight to float, rounding once from the decimal;
// the importer read it to double first and so rounded a threshold that lands exactly half way
// between two floats (as a double) the other way, and a row equal to the float that XGBoost
// kept took the other branch. The expected floats are what XGBoost 1.7.4 loads from these texts
// (Booster(model_file=...).save_raw("json")). A threshold written by XGBoost itself is a float's
// shortest text and was never affected.
TEST(ScoringXgboost, SplitConditionsAreReadAsXgboostReadsThem)
{
    const std::pair<const char*, float> cases[] = {
        {"1.0000000596046447753906249999999999999999", 1.0f},
        {"1.000000059604644775390625", 1.0f}, // the tie itself: to even
        {"1.0000000596046447753906250000000000000001", 1.00000012f},
        {"3.14159286022186279296875", 3.14159298f},
        {"0.1", 0.1f},
        {"-2.5", -2.5f},
    };
    for (const auto& c : cases) {
        std::string doc = std::string(R"({"learner": {"learner_model_param": {"base_score": "5E-1",
            "num_feature": "1"}, "objective": {"name": "reg:squarederror"},
            "gradient_booster": {"name": "gbtree", "model": {"trees": [
                {"left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_indices": [0, 0, 0], "split_conditions": [)") +
                          c.first + ", 1, " + c.first + R"(], "default_left": [0, 0, 0]}]}}}})";
        xgboost_import imp = import_xgboost(json::parse(doc));
        compiled_model m = compile_model(model_kind::gbdt, imp.features, json::parse(imp.params));
        EXPECT_EQ(m.node_value[0], c.second) << c.first << " as a threshold";
        EXPECT_EQ(m.node_value[2], c.second) << c.first << " as a leaf";
        float x = c.second, out;
        m.score_rows(&x, 1, &out);
        EXPECT_EQ(out, 0.5f + c.second) << "a row equal to the threshold goes right";
    }
}

// base_score too, rounded once from its text: it was read to double, written back with nine
// digits and read again, and "0.6517548263809934" came out one float below the float nearest
// the text, which register_model's reading of the same number gives.
TEST(ScoringXgboost, BaseScoreIsReadAsXgboostReadsIt)
{
    const std::pair<const char*, float> cases[] = {
        {"0.6517548263809934", 0.6517548263809934f},
        {"[0.6517548263809934]", 0.6517548263809934f},
        {"1.000000059604644775390625", 1.0f},
        {"5E-1", 0.5f},
    };
    for (const auto& c : cases) {
        std::string doc = std::string(R"({"learner": {"learner_model_param": {"base_score": ")") +
                          c.first +
                          R"(", "num_feature": "1"}, "objective": {"name": "reg:squarederror"},
            "gradient_booster": {"name": "gbtree", "model": {"trees": [
                {"left_children": [-1], "right_children": [-1], "split_indices": [0],
                 "split_conditions": [0], "default_left": [0]}]}}}})";
        xgboost_import imp = import_xgboost(json::parse(doc));
        compiled_model m = compile_model(model_kind::gbdt, imp.features, json::parse(imp.params));
        float x = 0, out;
        m.score_rows(&x, 1, &out);
        EXPECT_EQ(out, c.second) << c.first;
    }
}

// An early-stopped model keeps every tree, and the import says how many rounds it has and which
// was best (import_xgboost's NOTICE); a round of a random forest is num_parallel_tree trees.
TEST(ScoringXgboost, RoundsAndBestIterationAreRead)
{
    auto doc = [](const std::string& attributes, const std::string& per_round) {
        std::string tree = R"({"left_children": [-1], "right_children": [-1],
            "split_indices": [0], "split_conditions": [0.25], "default_left": [0]})";
        return R"({"learner": {"learner_model_param": {"base_score": "5E-1", "num_feature": "1"},
            "objective": {"name": "reg:squarederror"}, )" +
               attributes + R"("gradient_booster": {"name": "gbtree", "model": {)" + per_round +
               R"("trees": [)" + tree + "," + tree + "," + tree + "," + tree + "]}}}}";
    };
    xgboost_import plain = import_xgboost(json::parse(doc("", "")));
    EXPECT_EQ(plain.rounds, 4);
    EXPECT_EQ(plain.best_iteration, -1);
    xgboost_import stopped = import_xgboost(
        json::parse(doc(R"("attributes": {"best_iteration": "1", "best_score": "0.3"}, )", "")));
    EXPECT_EQ(stopped.rounds, 4);
    EXPECT_EQ(stopped.best_iteration, 1);
    compiled_model m =
        compile_model(model_kind::gbdt, stopped.features, json::parse(stopped.params));
    float x = 0, out;
    m.score_rows(&x, 1, &out);
    EXPECT_EQ(out, 0.5f + 4 * 0.25f) << "every tree is scored";
    xgboost_import forest = import_xgboost(json::parse(
        doc("", R"("gbtree_model_param": {"num_parallel_tree": "2", "num_trees": "4"}, )")));
    EXPECT_EQ(forest.rounds, 2);
}

namespace {

int interruption_calls = 0;
struct interrupted {};

} // namespace

// The parser reaches an interruption point every 4096 values, and what the hook throws (in the
// extension: a cancel, as pg::postgres_error) leaves the parse at once.
TEST(ScoringInterruption, ALargeDocumentReachesTheHookAndStopsThere)
{
    std::string text = "[1";
    for (int i = 1; i < 100000; i++)
        text += ",1";
    text += "]";
    interruption_calls = 0;
    interruption_hook = [] {
        if (++interruption_calls == 3)
            throw interrupted{};
    };
    EXPECT_THROW(json::parse(text), interrupted);
    EXPECT_EQ(interruption_calls, 3);

    interruption_calls = 0;
    interruption_hook = [] { ++interruption_calls; };
    EXPECT_EQ(json::parse(text).items().size(), 100000u);
    EXPECT_EQ(interruption_calls, 100001 / 4096); // the array and its 100000 numbers
    interruption_hook = nullptr;
}
