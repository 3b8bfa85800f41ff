// Arbitrary text through the JSON reader, the XGBoost importer and the gbdt compiler, then a
// few rows through the compiled trees: errors must be clean exceptions, never crashes.
#include "scoring/model.hpp"
#include "scoring/xgboost.hpp"

#include <cmath>
#include <string>
#include <vector>

using namespace ai_scale::scoring;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        xgboost_import imp = import_xgboost(json::parse(text));
        compiled_model m = compile_model(model_kind::gbdt, imp.features, json::parse(imp.params));
        std::vector<float> rows(m.features.size() * 3);
        for (size_t i = 0; i < rows.size(); i++)
            rows[i] = (i % 3 == 0) ? NAN : float(i) - 2.0f;
        float out[3];
        m.score_rows(rows.data(), 3, out);
    } catch (const model_error&) {
    } catch (const json::parse_error&) {
    }
    // The same text as the params of every kind.
    try {
        json::value params = json::parse(text);
        for (auto kind : {model_kind::linear, model_kind::mlp, model_kind::gbdt}) {
            try {
                compiled_model m = compile_model(kind, {"a", "b"}, params);
                float row[2] = {1, NAN}, out[256];
                m.score_rows(row, 1, out);
            } catch (const model_error&) {
            }
        }
    } catch (const json::parse_error&) {
    }
    return 0;
}
