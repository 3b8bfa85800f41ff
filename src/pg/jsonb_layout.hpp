// jsonb's binary layout (utils/jsonb.h, PostgreSQL 15) and that of the numerics inside it
// (numeric.c), restated without Postgres headers, so that the pure code reading jsonb bytes
// (scoring's feature extractor, the cache's check of values read back from Redis) can be
// unit-tested and fuzzed. src/pg/jsonb_layout_check.cpp checks the constants against
// Postgres's headers. Little-endian machines only, as that file also checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ai_scale::pg::jsonb_layout {

// A container: a header (count and kind), one entry per element (two per object pair, the keys
// first), then the data. An entry holds its type and either its length or, every 32nd
// (JB_OFFSET_STRIDE), its end offset in the data.
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
constexpr uint32_t int_align = 4; // numbers and containers start INTALIGN'd in the data

// An offset in a container's data rounded up to where a number or container there starts.
constexpr size_t int_aligned(size_t offset)
{
    return (offset + int_align - 1) & ~size_t(int_align - 1);
}

inline uint32_t load32(const uint8_t* p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

inline uint16_t load16(const uint8_t* p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// A numeric: sign, weight (of the first digit, in powers of 10000), base-10000 digits and the
// display scale (the decimals it is written with: 2 for 1.50).
struct numeric_view {
    bool negative = false;
    int weight = 0;
    const uint8_t* digits = nullptr; // ndigits little-endian uint16, each meant to be < 10000
    size_t ndigits = 0;
    int dscale = 0;
    size_t header_bytes = 0; // of its varlena header: 1 or 4
};
constexpr uint16_t numeric_base = 10000; // NBASE

// The finite numeric datum at p, within len bytes: false when its varlena header says
// compressed or external (a TOAST pointer, never inside a jsonb), when it does not fit, or when
// it is NaN or an infinity (not JSON numbers). Its digits are not checked.
inline bool read_numeric(const uint8_t* p, size_t len, numeric_view* out)
{
    size_t total, hdr;
    if (len < 1)
        return false;
    if (p[0] & 0x01) { // one-byte varlena header; exactly 0x01 marks an external pointer
        if (p[0] == 0x01)
            return false;
        total = p[0] >> 1;
        hdr = 1;
    } else { // four-byte header; low bits 0x02 mark compressed
        if (len < 4 || (p[0] & 0x03) != 0)
            return false;
        total = load32(p) >> 2;
        hdr = 4;
    }
    if (total < hdr + 2 || total > len)
        return false;
    const uint8_t* d = p + hdr;
    const size_t n = total - hdr;
    const uint16_t head = load16(d);
    size_t digits_at;
    if ((head & 0xC000) == 0xC000) // NUMERIC_SPECIAL: NaN, +-Infinity
        return false;
    if ((head & 0xC000) == 0x8000) { // NUMERIC_SHORT: sign, display scale and weight in head
        out->negative = (head & 0x2000) != 0;
        out->dscale = (head & 0x1F80) >> 7;
        out->weight = (head & 0x0040) ? int(int16_t(head | ~0x003F)) : int(head & 0x003F);
        digits_at = 2;
    } else { // NUMERIC_POS or NUMERIC_NEG with the display scale, then an int16 weight
        if (n < 4)
            return false;
        out->negative = (head & 0xC000) == 0x4000;
        out->dscale = head & 0x3FFF;
        out->weight = int(int16_t(load16(d + 2)));
        digits_at = 4;
    }
    if ((n - digits_at) % 2 != 0)
        return false;
    out->digits = d + digits_at;
    out->ndigits = (n - digits_at) / 2;
    out->header_bytes = hdr;
    return true;
}

// The fewest decimals that write the numeric exactly (numeric.c's get_min_scale: 1 for 1.50, 0
// for 9.0 and for 1e3).
inline int min_scale(const numeric_view& num)
{
    size_t last = num.ndigits; // one past the last nonzero base-10000 digit
    while (last > 0 && load16(num.digits + 2 * (last - 1)) == 0)
        last--;
    if (last == 0)
        return 0;
    int scale = (int(last) - 1 - num.weight) * 4; // decimals up to that digit's last one
    if (scale <= 0)
        return 0;
    for (uint16_t digit = load16(num.digits + 2 * (last - 1)); digit % 10 == 0; digit /= 10)
        scale--;
    return scale;
}

} // namespace ai_scale::pg::jsonb_layout
