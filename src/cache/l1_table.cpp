#include "cache/l1_table.hpp"

#include <cstring>
#include <new>

namespace ai_scale::cache {

namespace {
std::size_t align8(std::size_t n)
{
    return (n + 7) & ~std::size_t(7);
}
uint32_t sets_for(uint32_t entries)
{
    return entries < l1_table::ways ? 1 : (entries + l1_table::ways - 1) / l1_table::ways;
}
} // namespace

std::size_t l1_table::bytes_needed(uint32_t entries, uint32_t value_bytes)
{
    std::size_t n = std::size_t(sets_for(entries)) * ways;
    return align8(sizeof(l1_table)) + align8(n * sizeof(entry)) + align8(sets_for(entries)) +
           n * align8(value_bytes);
}

l1_table* l1_table::create(void* mem, uint32_t entries, uint32_t value_bytes)
{
    static_assert(sizeof(l1_table) % 8 == 0);
    auto* t = new (mem) l1_table();
    t->n_sets_ = sets_for(entries);
    t->value_bytes_ = value_bytes; // the limit; each slot takes align8 of it
    std::size_t n = std::size_t(t->n_sets_) * ways;
    auto* base = static_cast<uint8_t*>(mem) + align8(sizeof(l1_table));
    for (std::size_t i = 0; i < n; i++)
        new (reinterpret_cast<entry*>(base) + i) entry{{}, 0, 0, {0}};
    std::memset(t->hands(), 0, t->n_sets_);
    return t;
}

uint8_t* l1_table::hands()
{
    std::size_t n = std::size_t(n_sets_) * ways;
    return reinterpret_cast<uint8_t*>(entries()) + align8(n * sizeof(entry));
}

uint8_t* l1_table::value_of(uint32_t index)
{
    return hands() + align8(n_sets_) + std::size_t(index) * align8(value_bytes_);
}

int l1_table::slot_of(uint32_t set, const key128& k)
{
    entry* e = entries() + std::size_t(set) * ways;
    for (uint32_t w = 0; w < ways; w++)
        if (e[w].expires_ms != 0 && e[w].key == k)
            return int(w);
    return -1;
}

const uint8_t* l1_table::find(const key128& k, uint64_t now_ms, uint32_t* len)
{
    uint32_t set = set_of(k);
    int w = slot_of(set, k);
    if (w < 0)
        return nullptr;
    uint32_t index = set * ways + uint32_t(w);
    entry& e = entries()[index];
    if (e.expires_ms <= now_ms)
        return nullptr;
    if (e.referenced.load(std::memory_order_relaxed) == 0)
        e.referenced.store(1, std::memory_order_relaxed);
    *len = e.len;
    return value_of(index);
}

bool l1_table::put(const key128& k, const void* value, uint32_t len, uint64_t now_ms,
                   uint64_t expires_ms, put_mode mode)
{
    uint32_t set = set_of(k);
    entry* e = entries() + std::size_t(set) * ways;
    int w = slot_of(set, k);
    if (mode == put_mode::if_absent && w >= 0 && e[w].expires_ms > now_ms)
        return false;
    if (len > value_bytes_ || expires_ms <= now_ms) {
        if (w >= 0)
            e[w].expires_ms = 0;
        return false;
    }
    if (w < 0) {
        // An empty way, else the first expired one, else CLOCK: sweep from the hand, clearing
        // reference bits, and take the first way found unreferenced.
        for (uint32_t i = 0; i < ways && w < 0; i++)
            if (e[i].expires_ms == 0)
                w = int(i);
        for (uint32_t i = 0; i < ways && w < 0; i++)
            if (e[i].expires_ms <= now_ms)
                w = int(i);
        if (w < 0) {
            uint8_t& hand = hands()[set];
            for (uint32_t step = 0; step < 2 * ways; step++) {
                uint32_t i = hand;
                hand = uint8_t((hand + 1) % ways);
                if (e[i].referenced.load(std::memory_order_relaxed) == 0) {
                    w = int(i);
                    break;
                }
                e[i].referenced.store(0, std::memory_order_relaxed);
            }
        }
    }
    uint32_t index = set * ways + uint32_t(w);
    std::memcpy(value_of(index), value, len);
    e[w].key = k;
    e[w].len = len;
    e[w].expires_ms = expires_ms;
    e[w].referenced.store(1, std::memory_order_relaxed);
    return true;
}

bool l1_table::erase(const key128& k)
{
    uint32_t set = set_of(k);
    int w = slot_of(set, k);
    if (w < 0)
        return false;
    entries()[set * ways + uint32_t(w)].expires_ms = 0;
    return true;
}

void l1_table::clear()
{
    std::size_t n = std::size_t(n_sets_) * ways;
    for (std::size_t i = 0; i < n; i++)
        entries()[i].expires_ms = 0;
}

uint32_t l1_table::count(uint64_t now_ms) const
{
    uint32_t live = 0;
    std::size_t n = std::size_t(n_sets_) * ways;
    for (std::size_t i = 0; i < n; i++)
        if (entries()[i].expires_ms > now_ms)
            live++;
    return live;
}

} // namespace ai_scale::cache
