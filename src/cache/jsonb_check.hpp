// Checks of jsonb binaries. First, that bytes read back from Redis are a well-formed jsonb binary
// before Postgres is handed them as a jsonb datum. Postgres trusts a datum's internal offsets and
// lengths: a value someone wrote into Redis under one of our keys, with a checksum that matches
// (XXH3 is no secret), could otherwise make printing or querying it read outside the value and
// crash the server. Pure C++ (no Postgres header: it reads the layout pg/jsonb_layout.hpp
// restates), so the unit tests and a fuzzer drive it directly. Second, whether an input's numbers
// are written minimally, for the cache keys (cache/canonical_input.hpp).
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

// Whether every number in data[0, len) (a jsonb datum without its varlena header) is written
// with no more decimals than its value needs (9, 1.5; not 9.0 or 1.50), in a numeric with a
// four-byte varlena header, as jsonb_in makes it: then the bytes are one for a value, those
// that jsonb_in makes of the value written as briefly as possible. One walk over the entries,
// with jsonb_binary_valid's checks of the layout (false for bytes they refuse), allocating nothing
// for an input of up to 17 arrays and objects.
bool jsonb_numbers_minimal(const char* data, std::size_t len);

} // namespace ai_scale::cache
