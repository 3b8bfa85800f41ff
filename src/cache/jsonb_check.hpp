// Checks that bytes read back from Redis are a well-formed jsonb binary before Postgres is handed
// them as a jsonb datum. Postgres trusts a datum's internal offsets and lengths: a value someone
// wrote into Redis under one of our keys, with a checksum that matches (XXH3 is no secret), could
// otherwise make printing or querying it read outside the value and crash the server. Pure C++
// (no Postgres header: it reads the layout pg/jsonb_layout.hpp restates), so the unit tests and
// a fuzzer drive it directly.
#pragma once

#include <cstddef>

namespace ai_scale::cache {

// Judges the text of one string or object key; Postgres's own check is the server encoding's.
using jsonb_string_check = bool (*)(const char* s, std::size_t len);

// Whether data[0, len) (a jsonb datum without its varlena header) is a jsonb binary that every
// read stays inside: each container's header and entries fit, each entry's span lies within its
// container, object keys are strings, every string passes string_ok, every number is a plain
// (neither compressed nor external) finite numeric with digits below 10000, booleans and nulls
// are empty, and only the top-level container is a scalar wrapper. Key order is not checked: a
// value with unsorted keys answers lookups wrongly but reads nothing out of bounds.
bool jsonb_binary_valid(const char* data, std::size_t len, jsonb_string_check string_ok);

} // namespace ai_scale::cache
