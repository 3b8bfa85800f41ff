// Any bytes as a payload read back from Redis: the check never reads outside them, and whatever
// it accepts, a reader that walks it the way Postgres does (an entry's offset summed back to the
// nearest stored one, as getJsonbOffset; numbers read by their own varlena size) stays inside
// the bytes too, which AddressSanitizer enforces: libFuzzer's input buffer is exactly its size.
// The same for jsonb_numbers_minimal (the cache keys' check of an input's numbers), which reads
// every number's digits as well.
#include "cache/jsonb_check.hpp"
#include "fuzz_check.hpp"
#include "pg/jsonb_layout.hpp"

#include <cstdint>
#include <cstring>

using namespace ai_scale::cache;
namespace L = ai_scale::pg::jsonb_layout;
using L::load32;

namespace {

volatile uint8_t sink;

void touch(const uint8_t* p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sink = p[i];
}

void walk(const uint8_t* c)
{
    const uint32_t h = load32(c);
    const uint32_t count = h & L::count_mask;
    const uint32_t n = (h & L::flag_object) ? count * 2 : count;
    const uint32_t* entries = reinterpret_cast<const uint32_t*>(c + 4);
    const uint8_t* base = c + 4 + size_t(n) * 4;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t offset = 0;
        for (int64_t j = int64_t(i) - 1; j >= 0; j--) {
            uint32_t e;
            std::memcpy(&e, entries + j, 4);
            offset += e & L::offlen_mask;
            if (e & L::has_off)
                break;
        }
        uint32_t e;
        std::memcpy(&e, entries + i, 4);
        const uint32_t len = (e & L::has_off) ? (e & L::offlen_mask) - offset : e & L::offlen_mask;
        const uint32_t aligned = uint32_t(L::int_aligned(offset));
        switch (e & L::type_mask) {
        case L::is_string:
            touch(base + offset, len);
            break;
        case L::is_numeric: {
            const uint8_t* num = base + aligned;
            const size_t size = (num[0] & 1) ? num[0] >> 1 : load32(num) >> 2;
            touch(num, size);
            break;
        }
        case L::is_container:
            walk(base + aligned);
            break;
        default:
            break;
        }
    }
}

bool any_string(const char*, size_t)
{
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const bool ok = jsonb_binary_valid(reinterpret_cast<const char*>(data), size, any_string);
    if (ok) {
        check(size >= 4);
        walk(data);
    }
    if (jsonb_numbers_minimal(reinterpret_cast<const char*>(data), size)) {
        check(size >= 4);
        walk(data);
    }
    return 0;
}
