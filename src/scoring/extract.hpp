// Feature extraction from a jsonb object, read directly in jsonb's binary layout: one walk over
// its keys (stored sorted by length, then bytes) merged with the model's features sorted the
// same way, and numbers decoded from numeric's base-10000 digits. Pure C++ on the layout that
// pg/jsonb_layout.hpp restates, so libFuzzer reaches it with arbitrary bytes; every read is
// bounds-checked.
#pragma once

#include "pg/jsonb_layout.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ai_scale::scoring {

// Decodes a numeric datum (with its 1- or 4-byte varlena header) to double: the nearest double
// when its base-10000 digits make an integer of at most 2^53 scaled by 10^k, |k| <= 22 (most
// JSON numbers), else within a few units in the last place. Returns false when the bytes are
// not a numeric, or for NaN and infinities.
bool decode_numeric(const uint8_t* p, size_t len, double* out);

// Decodes a numeric datum to float4 as a JSON reader feeding XGBoost does: the nearest double,
// rounded to the nearest float (ties to even), as numpy's float32() of a parsed JSON number.
// Infinity beyond float4's range. Returns false as decode_numeric does.
bool decode_numeric_float(const uint8_t* p, size_t len, float* out);

// jsonb's key order: shorter first, then bytewise.
bool jsonb_key_less(const std::string& a, const std::string& b);

// A model's features, sorted in jsonb key order, with their column in the model's row.
class feature_extractor {
  public:
    // defaults: per feature (model order); NaN = none. missing_is_nan: a missing feature
    // becomes NaN instead of an error (gbdt).
    feature_extractor(const std::vector<std::string>& features, const std::vector<float>& defaults,
                      bool missing_is_nan);

    enum class status { ok, not_object, malformed, missing, bad_type, out_of_range };
    struct result {
        status st = status::ok;
        int32_t feature = -1;        // model column of the offending feature
        const char* found = nullptr; // json type found, for bad_type
    };

    // root: a jsonb root container (the bytes after the jsonb varlena header).
    result extract(const uint8_t* root, size_t len, float* row) const;

    const std::string& name(int32_t column) const { return names_[size_t(column)]; }
    int32_t width() const { return int32_t(names_.size()); }

  private:
    // A feature the input lacks (or gives as null): its default into row, or status::missing
    // in res (returns false) when it has none and missing values are not NaN.
    bool fill_missing(int32_t column, float* row, result& res) const;
    std::vector<std::string> names_; // model order
    std::vector<std::string> sorted_;
    std::vector<int32_t> column_; // sorted position -> model column
    std::vector<float> defaults_; // model order
    bool missing_is_nan_;
};

} // namespace ai_scale::scoring
