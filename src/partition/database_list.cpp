#include "partition/database_list.hpp"

#include <algorithm>

namespace ai_scale::partition {

std::vector<std::string> parse_database_list(const std::string& list, size_t max_name_bytes)
{
    std::vector<std::string> names;
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos)
            comma = list.size();
        size_t first = list.find_first_not_of(' ', pos);
        size_t last = comma;
        while (last > pos && list[last - 1] == ' ')
            last--;
        if (first != std::string::npos && first < last) {
            std::string name = list.substr(first, last - first);
            if (name.size() >= max_name_bytes)
                throw invalid_database_list("database name \"" + name + "\" is too long");
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(std::move(name));
            if (names.size() > max_maintenance_databases)
                throw invalid_database_list(
                    "more than " + std::to_string(max_maintenance_databases) + " databases");
        }
        pos = comma + 1;
    }
    return names;
}

bool database_listed(const std::string& list, const std::string& database,
                     size_t max_name_bytes) noexcept
{
    try {
        const auto names = parse_database_list(list, max_name_bytes);
        return std::find(names.begin(), names.end(), database) != names.end();
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace ai_scale::partition
