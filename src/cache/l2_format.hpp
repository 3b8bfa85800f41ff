// How an output is stored in Redis, apart from Postgres: a magic, its expiry (Unix ms, so an L1
// copy made from it expires with it) and an XXH3-64 checksum of the payload, then the payload
// (the output's jsonb binary). The checksum catches damage, not forgery: l2_value.cpp also checks
// the payload's structure (jsonb_check.hpp) before it becomes a datum. Pure C++, so that the
// unit tests and test/tools/forge_l2_value write and read the same format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ai_scale::cache {

// The largest output cache_put stores (its jsonb datum, header included): Redis and the L1 are
// for predictions, not documents.
constexpr std::size_t max_output_bytes = 64 * 1024 * 1024;

// The stored value: l2_header, then the payload.
std::string wrap_l2_payload(const char* payload, std::size_t len, uint64_t expires_unix_ms);

// The bytes a stored value begins with, before its payload.
std::string l2_header(const char* payload, std::size_t len, uint64_t expires_unix_ms);

struct l2_payload {
    const char* data = nullptr; // points into the stored value
    std::size_t len = 0;
    uint64_t expires_unix_ms = 0;
};

// The payload of a stored value; false for anything else found under our key: too short or too
// long, another magic, or a checksum that does not match.
bool unwrap_l2_payload(const std::string& value, l2_payload* out);

} // namespace ai_scale::cache
