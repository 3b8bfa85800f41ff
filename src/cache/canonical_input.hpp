// The bytes of an input that its cache keys and input_hash hash. An input's jsonb binary is one
// for its value (keys sorted, whitespace gone) except for numbers, which keep the decimals they
// were written with: '{"a": 9}' and '{"a": 9.0}' are equal jsonb (=), as a JavaScript client
// and a Python client write the same value, but their bytes differ. So an input with a number
// written with more decimals than its value needs is rebuilt with every number at its minimal
// scale (numeric_trim_scale), which gives the bytes jsonb_in makes of the value written as
// briefly as possible, and equal inputs get one key. The common input, each number already
// minimal, is hashed as it is, after a walk over its entries that calls no Postgres function
// and allocates nothing up to 17 arrays and objects (jsonb_numbers_minimal): its keys and
// input_hash are what they were before.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstddef>
#include <string>

namespace ai_scale::cache {

class canonical_input {
  public:
    explicit canonical_input(const Jsonb* input);
    const char* data() const { return data_; }
    std::size_t size() const { return size_; }

  private:
    const char* data_; // the input's own bytes, or rebuilt_'s
    std::size_t size_;
    std::string rebuilt_;
};

} // namespace ai_scale::cache
