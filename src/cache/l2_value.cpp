#include "cache/l2_value.hpp"
#include "pg/guard.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <ctime>

namespace ai_scale::cache {

namespace {
constexpr char magic[4] = {'A', 'S', 'C', '1'};
constexpr size_t header = sizeof magic + 8 + 8;
} // namespace

uint64_t unix_ms()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

std::string encode_l2_value(const Jsonb* output, uint64_t expires_unix_ms)
{
    const char* data = VARDATA_ANY(output);
    size_t len = VARSIZE_ANY_EXHDR(output);
    uint64_t sum = XXH3_64bits(data, len);
    std::string v(header + len, '\0');
    memcpy(v.data(), magic, sizeof magic);
    memcpy(v.data() + 4, &expires_unix_ms, 8);
    memcpy(v.data() + 12, &sum, 8);
    memcpy(v.data() + header, data, len);
    return v;
}

Jsonb* decode_l2_value(const std::string& value, uint64_t* expires_unix_ms)
{
    if (value.size() < header + sizeof(uint32) || memcmp(value.data(), magic, sizeof magic) != 0)
        return nullptr;
    size_t len = value.size() - header;
    uint64_t sum;
    memcpy(expires_unix_ms, value.data() + 4, 8);
    memcpy(&sum, value.data() + 12, 8);
    if (XXH3_64bits(value.data() + header, len) != sum)
        return nullptr;
    Jsonb* out = nullptr;
    pg::call([&] { out = static_cast<Jsonb*>(palloc(VARHDRSZ + len)); });
    SET_VARSIZE(out, VARHDRSZ + len);
    memcpy(VARDATA(out), value.data() + header, len);
    return out;
}

} // namespace ai_scale::cache
