// Feature extraction from a jsonb object, read directly in jsonb's binary layout: one walk over
// its keys (stored sorted by length, then bytes) merged with the model's features sorted the
// same way (skipped when the object's keys are the bytes of the last object's: the rows of a
// table mostly share their keys), and numbers decoded from numeric's base-10000 digits. Pure C++ on
// the layout that pg/jsonb_layout.hpp restates, so libFuzzer reaches it with arbitrary bytes; every
// read is bounds-checked.
#pragma once

#include "pg/jsonb_layout.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ai_scale::scoring {

// Not used by scoring, which decodes to float (below): the double reading of the same digits,
// through which the unit tests and the fuzzer check the decoding both share.
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

    // The most heap memory it holds: its copies of the names, and the keys it may remember (bounded
    // by the number of features), so that a cache of models can count it when the model
    // enters, before any object is read.
    size_t memory_bytes() const;

  private:
    // What the merge of an object's keys with the sorted features found (match_keys).
    struct key_match {
        std::vector<int32_t> match;   // per key: its feature's sorted position, or -1
        std::vector<int32_t> missing; // sorted positions of the features no key gives
        int64_t last_match = -1;      // the last key that feeds a feature
        uint64_t keys_end = 0;        // where the keys end (and the values begin) in the data
        // The data bytes the match read: to the end of the last key compared or keys_end,
        // whichever is further (in a damaged object, the keys read may pass keys_end).
        uint64_t bytes_read = 0;
    };
    bool match_keys(const uint8_t* entries, uint32_t count, const uint8_t* data, size_t data_len,
                    key_match& km, result& res) const;
    const key_match* matched_keys(const uint8_t* root, uint32_t count, const uint8_t* data,
                                  size_t data_len, key_match& scratch, result& res) const;
    // A feature the input lacks (or gives as null): its default into row, or status::missing
    // in res (returns false) when it has none and missing values are not NaN.
    bool fill_missing(int32_t column, float* row, result& res) const;
    std::vector<std::string> names_; // model order
    std::vector<std::string> sorted_;
    std::vector<int32_t> column_; // sorted position -> model column
    std::vector<float> defaults_; // model order
    bool missing_is_nan_;
    // The object whose keys were matched last (its header and key entries, then its key bytes)
    // and what they matched; a backend scores on one thread, and a model's extractor is used
    // by that backend alone. An object is remembered when it has at most max_keys() keys
    // (64, or twice the features) and its keys take at most max_key_bytes() bytes (1 kB, or
    // 32 a feature).
    size_t max_keys() const { return std::max<size_t>(64, 2 * names_.size()); }
    size_t max_key_bytes() const { return std::max<size_t>(1024, 32 * names_.size()); }
    mutable bool last_valid_ = false;
    mutable std::string last_head_;
    mutable key_match last_;
};

} // namespace ai_scale::scoring
