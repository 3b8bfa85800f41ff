#include "cache/l2_format.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>

namespace ai_scale::cache {

namespace {
constexpr char magic[4] = {'A', 'S', 'C', '1'};
constexpr std::size_t header = sizeof magic + 8 + 8;
} // namespace

std::string l2_header(const char* payload, std::size_t len, uint64_t expires_unix_ms)
{
    const uint64_t sum = XXH3_64bits(payload, len);
    std::string v;
    v.reserve(header);
    v.append(magic, sizeof magic);
    v.append(reinterpret_cast<const char*>(&expires_unix_ms), 8);
    v.append(reinterpret_cast<const char*>(&sum), 8);
    return v;
}

std::string wrap_l2_payload(const char* payload, std::size_t len, uint64_t expires_unix_ms)
{
    std::string v = l2_header(payload, len, expires_unix_ms);
    v.reserve(header + len);
    v.append(payload, len);
    return v;
}

bool unwrap_l2_payload(const std::string& value, l2_payload* out)
{
    // A jsonb payload holds at least its root container's header.
    if (value.size() < header + 4 || value.size() - header > max_output_bytes ||
        std::memcmp(value.data(), magic, sizeof magic) != 0)
        return false;
    uint64_t sum;
    std::memcpy(&out->expires_unix_ms, value.data() + 4, 8);
    std::memcpy(&sum, value.data() + 12, 8);
    out->data = value.data() + header;
    out->len = value.size() - header;
    return XXH3_64bits(out->data, out->len) == sum;
}

} // namespace ai_scale::cache
