#include "cache/lineage_rules.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdio>

namespace ai_scale::cache::lineage {

bool restored_start(bool recovery_signal, bool backup_label, bool standby_signal)
{
    return (recovery_signal || backup_label) && !standby_signal;
}

std::optional<uint64_t> parse(std::string_view text)
{
    if (text.size() != 17 || text[16] != '\n')
        return std::nullopt;
    uint64_t v = 0;
    for (char c : text.substr(0, 16)) {
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else
            return std::nullopt;
        v = v << 4 | uint64_t(digit);
    }
    if (v == 0)
        return std::nullopt;
    return v;
}

std::string format(uint64_t lineage)
{
    char buf[18];
    snprintf(buf, sizeof buf, "%016llx\n", (unsigned long long)lineage);
    return buf;
}

uint64_t cluster_identity(uint64_t system_id, uint64_t lineage)
{
    if (lineage == 0)
        return system_id;
    return XXH3_64bits_withSeed(&system_id, sizeof system_id, lineage);
}

} // namespace ai_scale::cache::lineage
