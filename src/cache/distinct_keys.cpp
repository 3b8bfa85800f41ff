#include "cache/distinct_keys.hpp"

namespace ai_scale::cache {

namespace {

// A power of two at least twice n (the table at most half full), and at least 16.
std::size_t table_size(std::size_t n)
{
    std::size_t size = 16;
    while (size < 2 * n)
        size *= 2;
    return size;
}

} // namespace

distinct_keys::distinct_keys(std::size_t expected)
{
    keys_.reserve(expected);
    slots_.assign(table_size(expected), 0);
    mask_ = slots_.size() - 1;
}

uint32_t distinct_keys::add(const key128& k)
{
    if (2 * (keys_.size() + 1) > slots_.size())
        grow();
    for (std::size_t s = std::size_t(k.lo ^ k.hi) & mask_;; s = (s + 1) & mask_) {
        if (slots_[s] == 0) {
            keys_.push_back(k);
            slots_[s] = uint32_t(keys_.size());
            return uint32_t(keys_.size() - 1);
        }
        if (keys_[slots_[s] - 1] == k)
            return slots_[s] - 1;
    }
}

void distinct_keys::grow()
{
    slots_.assign(table_size(keys_.size() + 1), 0);
    mask_ = slots_.size() - 1;
    for (std::size_t n = 0; n < keys_.size(); n++) {
        std::size_t s = std::size_t(keys_[n].lo ^ keys_[n].hi) & mask_;
        while (slots_[s] != 0)
            s = (s + 1) & mask_;
        slots_[s] = uint32_t(n + 1);
    }
}

void distinct_keys::release_table()
{
    std::vector<uint32_t>().swap(slots_);
    mask_ = 0;
}

} // namespace ai_scale::cache
