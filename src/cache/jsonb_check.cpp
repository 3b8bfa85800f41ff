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

// A numeric Postgres made (make_result) that jsonb_in would also make from the value written
// with the fewest decimals: a plain four-byte varlena header (what numeric_in gives) and a
// display scale no larger than the value needs. A display scale of 0 needs no look at the digits.
bool numeric_minimal(const uint8_t* p, size_t len)
{
    L::numeric_view num;
    if (!L::read_numeric(p, len, &num) || num.header_bytes != 4)
        return false;
    return num.dscale == 0 || num.dscale == L::min_scale(num);
}

struct span {
    const uint8_t* at;
    size_t len;
};

// The containers still to walk: a few inline, the rest on the heap, so that an input nested a
// few levels deep is walked without allocating.
class todo_stack {
  public:
    void push(span c)
    {
        if (n_inline_ < n_inline_max)
            inline_[n_inline_++] = c;
        else
            more_.push_back(c);
    }
    bool pop(span* c)
    {
        if (!more_.empty()) {
            *c = more_.back();
            more_.pop_back();
            return true;
        }
        if (n_inline_ == 0)
            return false;
        *c = inline_[--n_inline_];
        return true;
    }

  private:
    static constexpr size_t n_inline_max = 16;
    span inline_[n_inline_max];
    size_t n_inline_ = 0;
    std::vector<span> more_;
};

// One container: its header, its entries and its scalars (strings judged by string_ok, numbers
// by numeric_ok); the containers inside it are pushed onto todo to be checked in turn (no
// recursion, however deep the value).
template <typename StringOk, typename NumericOk>
bool container_valid(span c, bool top, StringOk string_ok, NumericOk numeric_ok, todo_stack& todo)
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
            if (aligned > end || !numeric_ok(data + aligned, end - aligned))
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
            todo.push({data + aligned, end - aligned});
            break;
        default:
            return false;
        }
    }
    return true;
}

template <typename StringOk, typename NumericOk>
bool binary_valid(const char* data, size_t len, StringOk string_ok, NumericOk numeric_ok)
{
    todo_stack todo;
    if (!container_valid({reinterpret_cast<const uint8_t*>(data), len}, true, string_ok, numeric_ok,
                         todo))
        return false;
    span c;
    while (todo.pop(&c))
        if (!container_valid(c, false, string_ok, numeric_ok, todo))
            return false;
    return true;
}

} // namespace

bool jsonb_binary_valid(const char* data, size_t len, jsonb_string_check string_ok)
{
    return binary_valid(data, len, string_ok, numeric_valid);
}

bool jsonb_numbers_minimal(const char* data, size_t len)
{
    // Lambdas, not function pointers: each call inlined into the walk, strings skipped.
    return binary_valid(
        data, len, [](const char*, size_t) { return true; },
        [](const uint8_t* p, size_t n) { return numeric_minimal(p, n); });
}

} // namespace ai_scale::cache
