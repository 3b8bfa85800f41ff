// Which history of its cluster a server's cache keys belong to (its lineage), pure C++.
//
// The keys in Redis are namespaced by the cluster's system identifier, which a copy made from a
// base backup keeps. A copy restored to an earlier point in time, or started beside the
// original, must not read what the original cached since (outputs of versions and store rows
// the copy does not have) nor write into the original's namespace. So a server whose data
// directory was restored from a backup, and is not a standby of the original, draws a new
// lineage at its start and keeps it in a file of the data directory, which base backups of it
// (its own standbys) copy: failover keeps the cache, a restore starts cold. Lineage 0 (no
// file) keeps the keys of the system identifier alone, those of every cluster before this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ai_scale::cache::lineage {

// The file, in the data directory.
constexpr const char* file_name = "ai_scale_cache_lineage";

// Whether a server starting with these files in its data directory was restored from a backup
// rather than restarted or made a standby: recovery.signal (archive recovery, a point-in-time
// restore) or backup_label (a base backup started as it is, a clone), without standby.signal (a
// standby follows the original; promoted, it takes over its cache). A recovery target does not
// count: one left over from an earlier restore, which pg_basebackup copies with
// postgresql.conf to every standby made later, gave each of those standbys a lineage of its
// own, and they served what their primary invalidated.
bool restored_start(bool recovery_signal, bool backup_label, bool standby_signal);

// The file's text: 16 hex digits and a newline. nullopt when text is not that, or holds 0.
std::optional<uint64_t> parse(std::string_view text);
std::string format(uint64_t lineage);

// The identity keys are derived from: the system identifier, mixed with the lineage when there
// is one.
uint64_t cluster_identity(uint64_t system_id, uint64_t lineage);

} // namespace ai_scale::cache::lineage
