// Reading Redis Sentinel's answers about one monitored primary: where the primary is
// (SENTINEL get-master-addr-by-name) and which of its replicas may serve reads (SENTINEL
// replicas). Pure C++ (no Postgres, no hiredis), unit-tested in test/unit/test_sentinel_view.cpp.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ai_scale::cache {

// host:port ([address]:port for IPv6) from get-master-addr-by-name's [ip, port]; nullopt unless
// that is what it holds (a host of printable ASCII without commas or brackets, a port in
// 1..65535).
std::optional<std::string> sentinel_primary(const std::vector<std::string>& ip_and_port);

// One entry of SENTINEL replicas, as its (field, value) pairs.
using sentinel_fields = std::vector<std::pair<std::string, std::string>>;

// host:port of a replica the sentinel sees up and linked to its primary: flags without s_down,
// o_down or disconnected, and master-link-status ok. nullopt otherwise.
std::optional<std::string> sentinel_usable_replica(const sentinel_fields& fields);

} // namespace ai_scale::cache
