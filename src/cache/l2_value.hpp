// A cache output as stored in Redis (l2_format.hpp), to and from a jsonb datum. A value that
// does not decode (foreign, damaged, or forged to be malformed) is a miss, never handed to
// Postgres as jsonb.
#pragma once

#include "cache/redis_command.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <cstddef>
#include <cstdint>
#include <string>

namespace ai_scale::cache {

// The Redis value of output, as a word that borrows the output's payload (output must outlive
// the write that sends it).
word encode_l2_value(const Jsonb* output, uint64_t expires_unix_ms);

// Whether output (its datum, header included) is at most redis_value_limit(). cache_put refuses
// a larger one; a fill (from the store, or a prediction) leaves it out of Redis. Over
// max_output_bytes, what a read from Redis takes back (resp_limits, unwrap_l2_payload), every
// read of it would fail the round trip, counted toward the breaker, and take the other keys of
// its MGET with it; over ai_scale.redis_max_value_bytes, Redis may take longer than
// redis_timeout_ms to start the reply to it (0.5 s for 40 MB on a loaded 2-vCPU VM, whose page
// faults are slow), with the same effect.
bool fits_in_redis(const Jsonb* output);
// ai_scale.redis_max_value_bytes, within max_output_bytes.
size_t redis_value_limit();

// A palloc'd jsonb, or nullptr when value is not ours; *expires_unix_ms gets its expiry.
Jsonb* decode_l2_value(const std::string& value, uint64_t* expires_unix_ms);

uint64_t unix_ms();

} // namespace ai_scale::cache
