// A cache output as stored in Redis (l2_format.hpp), to and from a jsonb datum. A value that
// does not decode (foreign, damaged, or forged to be malformed) is a miss, never handed to
// Postgres as jsonb.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstdint>
#include <string>

namespace ai_scale::cache {

std::string encode_l2_value(const Jsonb* output, uint64_t expires_unix_ms);

// A palloc'd jsonb, or nullptr when value is not ours; *expires_unix_ms gets its expiry.
Jsonb* decode_l2_value(const std::string& value, uint64_t* expires_unix_ms);

uint64_t unix_ms();

} // namespace ai_scale::cache
