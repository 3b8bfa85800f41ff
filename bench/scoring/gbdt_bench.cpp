// Times ai_scale's CPU tree traversal (compiled_model::score_rows, the code the extension
// runs) on pre-extracted float32 rows, and checks it against XGBoost's predictions.
// Usage: gbdt_bench DIR ROWS   (DIR holds gbdt.json, rows.f32, xgb_pred.f32 from train_gbdt.py)
#include "scoring/model.hpp"
#include "scoring/xgboost.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace ai_scale::scoring;

static std::vector<float> read_floats(const std::string& path, size_t n)
{
    std::vector<float> v(n);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(float)));
    return v;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gbdt_bench DIR ROWS\n");
        return 2;
    }
    std::string dir = argv[1];
    size_t n = std::stoul(argv[2]);
    std::ifstream in(dir + "/gbdt.json");
    std::stringstream text;
    text << in.rdbuf();
    xgboost_import imp = import_xgboost(json::parse(text.str()));
    compiled_model m = compile_model(model_kind::gbdt, imp.features, json::parse(imp.params));
    std::vector<float> rows = read_floats(dir + "/rows.f32", n * 16);
    std::vector<float> expected = read_floats(dir + "/xgb_pred.f32", n);
    std::vector<float> out(n);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        auto t0 = std::chrono::steady_clock::now();
        m.score_rows(rows.data(), int64_t(n), out.data());
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    double max_diff = 0;
    for (size_t i = 0; i < n; i++)
        max_diff = std::max(max_diff, double(std::fabs(out[i] - expected[i])));
    printf("ai_scale_rows_per_s %.0f\nmax_abs_diff_vs_xgboost %.3g\ntrees %zu nodes %zu\n",
           double(n) / best, max_diff, m.tree_root.size(), m.node_feature.size());
    return max_diff < 1e-5 ? 0 : 1;
}
