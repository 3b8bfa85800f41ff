// Reading Redis's `INFO replication`: one field, and whether a replica may serve L2 reads. Pure
// C++ (no Postgres, no hiredis), unit-tested in test/unit/test_replica_check.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ai_scale::cache {

// The value of `field:` in an INFO reply, or "" when it is not there.
std::string redis_info_field(const std::string& info, const std::string& field);

enum class replica_verdict {
    in_sync,
    link_down,     // master_link_status:down
    loading,       // master_sync_in_progress:1 (a full resync)
    other_primary, // follows a replication history that is not the configured primary's
    lagging,       // more than max_lag_bytes of the primary's stream not yet applied
    not_replica,   // role:master, and not the primary itself: promoted or detached
};
const char* replica_verdict_name(replica_verdict v);

struct replica_state {
    replica_verdict verdict;
    std::optional<int64_t> lag_bytes; // when both offsets were known and the histories match
};

// Judges a replica from its own INFO replication and, when the primary answered, the primary's.
// The replica must follow the primary's replication ID (or the one the primary had before a
// failover, its master_replid2) and be at most max_lag_bytes behind its master_repl_offset;
// max_lag_bytes < 0 skips both checks, as does a missing primary_info. A server that says it is
// a primary is in sync only when it is the primary (its master_replid is the primary's): without
// the primary's INFO it is not, since a replica promoted or detached follows nothing.
replica_state judge_replica(const std::string& replica_info,
                            const std::optional<std::string>& primary_info, int64_t max_lag_bytes);

} // namespace ai_scale::cache
