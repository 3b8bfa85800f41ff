#include "cache/jsonb_check.hpp"
#include "pg/jsonb_layout.hpp"

#include <vector>

namespace ai_scale::cache {

namespace {

namespace L = pg::jsonb_layout;

// A finite numeric datum filling at most len bytes at p, its digits in base 10000.
bool numeric_valid(const uint8_t* p, size_t len)
{
    L::numeric_view num;
    if (!L::read_numeric(p, len, &num))
        return false;
    for (size_t i = 0; i < num.ndigits; i++)
        if (L::load16(num.digits + 2 * i) >= L::numeric_base)
            return false;
    return true;
}

struct span {
    const uint8_t* at;
    size_t len;
};

// One container: its header, its entries and its scalars; the containers inside it are pushed
// onto todo to be checked in turn (no recursion, however deep the value).
bool container_valid(span c, bool top, jsonb_string_check string_ok, std::vector<span>& todo)
{
    if (c.len < 4)
        return false;
    const uint32_t h = L::load32(c.at);
    const uint32_t kind = h & ~L::count_mask;
    const uint32_t count = h & L::count_mask;
    const bool object = kind == L::flag_object;
    if (!(object || kind == L::flag_array ||
          (top && kind == (L::flag_array | L::flag_scalar) && count == 1)))
        return false;
    const uint64_t entries = object ? uint64_t(count) * 2 : count;
    if (4 + entries * 4 > c.len)
        return false;
    const uint8_t* data = c.at + 4 + entries * 4;
    const size_t data_len = c.len - 4 - entries * 4;
    size_t end = 0;
    for (uint64_t i = 0; i < entries; i++) {
        const uint32_t e = L::load32(c.at + 4 + i * 4);
        const size_t start = end;
        end = (e & L::has_off) ? (e & L::offlen_mask) : start + (e & L::offlen_mask);
        if (end < start || end > data_len)
            return false;
        const uint32_t type = e & L::type_mask;
        if (object && i < count && type != L::is_string)
            return false;
        const size_t aligned = L::int_aligned(start);
        switch (type) {
        case L::is_string:
            if (!string_ok(reinterpret_cast<const char*>(data + start), end - start))
                return false;
            break;
        case L::is_numeric:
            if (aligned > end || !numeric_valid(data + aligned, end - aligned))
                return false;
            break;
        case L::is_false:
        case L::is_true:
        case L::is_null:
            if (end != start)
                return false;
            break;
        case L::is_container:
            if (aligned > end)
                return false;
            todo.push_back({data + aligned, end - aligned});
            break;
        default:
            return false;
        }
    }
    return true;
}

} // namespace

bool jsonb_binary_valid(const char* data, size_t len, jsonb_string_check string_ok)
{
    std::vector<span> todo;
    if (!container_valid({reinterpret_cast<const uint8_t*>(data), len}, true, string_ok, todo))
        return false;
    while (!todo.empty()) {
        const span c = todo.back();
        todo.pop_back();
        if (!container_valid(c, false, string_ok, todo))
            return false;
    }
    return true;
}

} // namespace ai_scale::cache
