// Any sequence of puts, finds, erases and clock ticks on a small L1 table agrees with a model
// map: a find returns exactly the last value put for the key, unless it expired, was erased or
// was evicted (then it is a miss, never another key's value); live entries never exceed capacity.
#include "cache/l1_table.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

using ai_scale::cache::key128;
using ai_scale::cache::l1_table;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    constexpr uint32_t entries = 24, value_bytes = 16;
    std::vector<uint64_t> mem(l1_table::bytes_needed(entries, value_bytes) / 8 + 1);
    l1_table* t = l1_table::create(mem.data(), entries, value_bytes);
    // key -> (value, expires)
    std::map<uint8_t, std::pair<std::string, uint64_t>> model;
    uint64_t now = 1;
    auto key_of = [](uint8_t k) {
        return key128{uint64_t(k) * 0x9e3779b97f4a7c15ull, uint64_t(k % 7)};
    };

    for (; size >= 3; data += 3, size -= 3) {
        uint8_t op = data[0] % 4, k = data[1] % 64, arg = data[2];
        key128 key = key_of(k);
        switch (op) {
        case 0: { // put a value of arg % 20 bytes (some too large) for 1..16 ticks
            std::string v(arg % 20, char('a' + k % 26));
            uint64_t expires = now + 1 + arg % 16;
            bool stored = t->put(key, v.data(), uint32_t(v.size()), now, expires);
            if (stored != (v.size() <= value_bytes))
                abort();
            if (stored)
                model[k] = {v, expires};
            break;
        }
        case 1: { // find
            uint32_t len = 0;
            const uint8_t* got = t->find(key, now, &len);
            auto it = model.find(k);
            if (got != nullptr) {
                if (it == model.end() || it->second.second <= now)
                    abort(); // a value that was never put, or expired
                if (std::string(reinterpret_cast<const char*>(got), len) != it->second.first)
                    abort(); // someone else's or an old value
            }
            break;
        }
        case 2: // erase
            t->erase(key);
            model.erase(k);
            break;
        case 3: // time passes
            now += arg % 4;
            break;
        }
        if (t->count(now) > t->capacity())
            abort();
    }
    return 0;
}
