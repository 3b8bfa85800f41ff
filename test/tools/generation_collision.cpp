// generation_collision SYSTEM_ID DATABASE_A DATABASE_B: prints two model names, one for each
// database, whose generations share a slot (cache/generation_slots.hpp), for the TAP test of
// invalidation across databases after a restart.
#include "cache/generation_slots.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace ai_scale::cache::generation;

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: generation_collision SYSTEM_ID DATABASE_A DATABASE_B\n");
        return 2;
    }
    uint64_t system_id = std::strtoull(argv[1], nullptr, 10);
    uint64_t seed_a = database_seed(system_id, uint32_t(std::strtoul(argv[2], nullptr, 10)));
    uint64_t seed_b = database_seed(system_id, uint32_t(std::strtoul(argv[3], nullptr, 10)));
    std::map<uint32_t, std::string> in_b;
    for (int i = 0; i < 20000; i++) {
        std::string name = "b" + std::to_string(i);
        in_b.emplace(model_slot(model_hash(seed_b, name.data(), name.size())), name);
    }
    for (int i = 0; i < 20000; i++) {
        std::string name = "a" + std::to_string(i);
        auto it = in_b.find(model_slot(model_hash(seed_a, name.data(), name.size())));
        if (it != in_b.end()) {
            std::printf("%s %s\n", name.c_str(), it->second.c_str());
            return 0;
        }
    }
    return 1;
}
