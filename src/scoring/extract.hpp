// Feature extraction from a jsonb object, read directly in jsonb's binary layout: one walk over
// its keys (stored sorted by length, then bytes) merged with the model's features sorted the
// same way, and numbers decoded from numeric's base-10000 digits. Pure C++ with the layout's
// constants restated here (src/scoring/score_sql.cpp checks them against Postgres's headers),
// so libFuzzer reaches it with arbitrary bytes; every read is bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ai_scale::scoring::jsonb_layout {
constexpr uint32_t count_mask = 0x0FFFFFFF;  // JB_CMASK
constexpr uint32_t flag_scalar = 0x10000000; // JB_FSCALAR
constexpr uint32_t flag_object = 0x20000000; // JB_FOBJECT
constexpr uint32_t flag_array = 0x40000000;  // JB_FARRAY
constexpr uint32_t offlen_mask = 0x0FFFFFFF; // JENTRY_OFFLENMASK
constexpr uint32_t type_mask = 0x70000000;   // JENTRY_TYPEMASK
constexpr uint32_t has_off = 0x80000000;     // JENTRY_HAS_OFF
constexpr uint32_t is_string = 0x00000000;
constexpr uint32_t is_numeric = 0x10000000;
constexpr uint32_t is_false = 0x20000000;
constexpr uint32_t is_true = 0x30000000;
constexpr uint32_t is_null = 0x40000000;
constexpr uint32_t is_container = 0x50000000;
} // namespace ai_scale::scoring::jsonb_layout

namespace ai_scale::scoring {

// Decodes a numeric datum (with its 1- or 4-byte varlena header) to double. Returns false when
// the bytes are not a numeric, or for NaN and infinities.
bool decode_numeric(const uint8_t* p, size_t len, double* out);

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
    std::vector<std::string> names_; // model order
    std::vector<std::string> sorted_;
    std::vector<int32_t> column_; // sorted position -> model column
    std::vector<float> defaults_; // model order
    bool missing_is_nan_;
};

} // namespace ai_scale::scoring
