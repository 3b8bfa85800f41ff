// forge_l2_value HEX [EXPIRES_UNIX_MS]: writes to stdout a value as ai_scale stores it in Redis
// (l2_format.hpp), with the payload HEX (a jsonb binary, well formed or not) and a checksum that
// matches, expiring at EXPIRES_UNIX_MS (default: the year 2100). For the TAP test of values
// someone else wrote into Redis: `forge_l2_value ffffff20 | redis-cli -x SET key`.
#include "cache/l2_format.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3 || std::strlen(argv[1]) % 2 != 0) {
        std::fprintf(stderr, "usage: forge_l2_value HEX [EXPIRES_UNIX_MS]\n");
        return 2;
    }
    std::string payload;
    for (const char* p = argv[1]; *p; p += 2) {
        char pair[3] = {p[0], p[1], '\0'};
        char* end;
        long byte = std::strtol(pair, &end, 16);
        if (*end != '\0') {
            std::fprintf(stderr, "forge_l2_value: not hex: %s\n", pair);
            return 2;
        }
        payload.push_back(char(byte));
    }
    uint64_t expires = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 4102444800000ULL;
    std::string v = ai_scale::cache::wrap_l2_payload(payload.data(), payload.size(), expires);
    return std::fwrite(v.data(), 1, v.size(), stdout) == v.size() ? 0 : 1;
}
