// The value of ai_scale.maintenance_databases, read as the list of databases to keep a
// maintenance worker in. Pure C++: the setting's check hook and the launcher both use it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace ai_scale::partition {

// At most this many databases get a maintenance worker.
constexpr size_t max_maintenance_databases = 32;

struct invalid_database_list : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// The names in a comma-separated list, in order, without the spaces around them, each once;
// empty items are skipped. A name of max_name_bytes or more (Postgres's NAMEDATALEN counts the
// terminating zero), or more than max_maintenance_databases names, is invalid_database_list.
std::vector<std::string> parse_database_list(const std::string& list, size_t max_name_bytes);

// Whether list names database, read as parse_database_list reads it; false for a list it
// refuses, which names no database (the setting's check hook refuses it first).
bool database_listed(const std::string& list, const std::string& database,
                     size_t max_name_bytes) noexcept;

} // namespace ai_scale::partition
