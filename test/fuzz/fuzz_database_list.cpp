// Any setting text: the parser either refuses it or returns at most the supported number of
// distinct names, each non-empty, shorter than the limit, without commas or spaces at its ends,
// and each found in the text.
#include "partition/database_list.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <set>
#include <string>

using namespace ai_scale::partition;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> names;
    try {
        names = parse_database_list(text, 64);
    } catch (const invalid_database_list&) {
        return 0;
    }
    check(names.size() <= max_maintenance_databases);
    check(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    for (const auto& name : names) {
        check(!name.empty() && name.size() < 64);
        check(name.find(',') == std::string::npos);
        check(name.front() != ' ' && name.back() != ' ');
        check(text.find(name) != std::string::npos);
    }
    return 0;
}
