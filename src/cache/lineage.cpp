#include "cache/lineage.hpp"
#include "cache/lineage_rules.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "access/xlog.h"
#include "common/file_perm.h"
#include "storage/fd.h"
#include "utils/guc.h"
}

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

// Written in the style of C: the postmaster's part raises FATAL with no C++ object alive.

namespace ai_scale::cache::lineage {

namespace {
bool known = false;
uint64_t current = 0;
// cluster_identity of the system identifier and current, made at the first call of identity()
// (the keys ask for it at every lookup); 0 until then.
uint64_t current_identity = 0;

bool exists(const char* name)
{
    struct stat st;
    return stat(name, &st) == 0;
}

// What the file holds: no file (lineage 0), a lineage, or something unreadable. A file exists
// only where a server restored from a backup wrote it (or in a base backup of one): taking
// lineage 0 for a damaged one gave such a server the keys of the cluster it was copied from,
// which is what the lineage is for preventing.
struct file_lineage {
    uint64_t lineage = 0;
    bool bad = false;
    char problem[160] = ""; // when bad; plain text, so FATAL leaves no C++ object behind
};

file_lineage read_file()
{
    file_lineage result;
    FILE* f = fopen(file_name, "r");
    if (f == nullptr) {
        const int open_errno = errno;
        struct stat st;
        if (open_errno != ENOENT) {
            result.bad = true;
            snprintf(result.problem, sizeof result.problem, "It could not be opened: %s.",
                     strerror(open_errno));
        } else if (lstat(file_name, &st) == 0) {
            // A symbolic link to nothing (its volume not mounted, say) is a file that is there
            // and cannot be read, not no file: taken for lineage 0, it gave a restored server
            // the keys of the cluster it was copied from.
            result.bad = true;
            strlcpy(result.problem, "It is a symbolic link to a file that does not exist.",
                    sizeof result.problem);
        }
        return result;
    }
    char buf[32];
    const size_t n = fread(buf, 1, sizeof buf, f);
    const bool failed = ferror(f) != 0;
    const int read_errno = errno;
    fclose(f);
    if (failed) {
        result.bad = true;
        snprintf(result.problem, sizeof result.problem, "It could not be read: %s.",
                 strerror(read_errno));
        return result;
    }
    const auto lineage = parse(std::string_view(buf, n));
    if (!lineage) {
        result.bad = true;
        strlcpy(result.problem,
                "It holds other than 16 lower-case hex digits, not all zero, and a newline.",
                sizeof result.problem);
        return result;
    }
    result.lineage = *lineage;
    return result;
}

constexpr const char* bad_file_message = "ai_scale: file \"%s\" does not hold a cache lineage";
constexpr const char* bad_file_detail =
    "%s The file exists only where a server restored from a backup wrote it; without it this "
    "server would share the cache keys of the cluster it was copied from.";
constexpr const char* bad_file_hint =
    "On a standby, copy the file from its primary. Otherwise write a new lineage to it (16 "
    "lower-case hex digits, not all zero, and a newline): this server's Redis cache starts cold.";

void write_file(uint64_t lineage)
{
    char tmp[MAXPGPATH];
    snprintf(tmp, sizeof tmp, "%s.tmp", file_name);
    char text[32];
    strlcpy(text, format(lineage).c_str(), sizeof text);
    const int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY, pg_file_create_mode);
    if (fd < 0)
        ereport(FATAL, (errcode_for_file_access(),
                        errmsg("ai_scale: could not create file \"%s\": %m", tmp)));
    const ssize_t len = ssize_t(strlen(text));
    errno = 0;
    if (write(fd, text, size_t(len)) != len) {
        if (errno == 0)
            errno = ENOSPC;
        ereport(FATAL, (errcode_for_file_access(),
                        errmsg("ai_scale: could not write file \"%s\": %m", tmp)));
    }
    if (pg_fsync(fd) != 0)
        ereport(FATAL, (errcode_for_file_access(),
                        errmsg("ai_scale: could not fsync file \"%s\": %m", tmp)));
    close(fd);
    durable_rename(tmp, file_name, FATAL);
}

// Whether postgresql.conf sets a recovery target.
bool recovery_target_set()
{
    for (const char* name : {"recovery_target", "recovery_target_name", "recovery_target_time",
                             "recovery_target_xid", "recovery_target_lsn"}) {
        const char* value = GetConfigOption(name, true, false);
        if (value != nullptr && value[0] != '\0')
            return true;
    }
    return false;
}
} // namespace

void settle_at_start()
{
    const bool standby = exists("standby.signal");
    if (restored_start(exists("recovery.signal"), exists("backup_label"), standby)) {
        uint64_t lineage = 0;
        while (lineage == 0)
            if (!pg_strong_random(&lineage, sizeof lineage))
                ereport(FATAL, (errmsg("ai_scale: could not generate a random cache lineage")));
        write_file(lineage);
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg("ai_scale: this server was restored from a backup: its cache keys "
                             "in Redis are its own from now on (lineage %016llx)",
                             (unsigned long long)lineage),
                      errdetail("It will not read what the cluster it was copied from cached, "
                                "nor write where that cluster reads.")));
    } else if (standby && recovery_target_set()) {
        // A standby keeps the lineage of what it follows, target or not: a target is often a
        // leftover of an earlier restore that pg_basebackup copied with postgresql.conf (never
        // reached again, the standby streams on), and a lineage of its own cut such a standby
        // off its primary's invalidations. One really stopped at its target and promoted then
        // keeps the keys of the cluster it followed; say so.
        ereport(WARNING,
                (errmsg("ai_scale: this standby has a recovery target, and keeps the cache keys of "
                        "the cluster it follows"),
                 errdetail("Promoted at its target, it would read what that cluster cached after "
                           "it, and write where that cluster reads."),
                 errhint("For a point-in-time restore, start the server with recovery.signal, "
                         "not standby.signal: it then takes cache keys of its own. A target left "
                         "from an earlier restore can be removed from postgresql.conf and "
                         "postgresql.auto.conf.")));
    }
    const file_lineage file = read_file();
    if (file.bad)
        ereport(FATAL, (errcode(ERRCODE_DATA_CORRUPTED), errmsg(bad_file_message, file_name),
                        errdetail(bad_file_detail, file.problem), errhint("%s", bad_file_hint)));
    current = file.lineage;
    known = true;
}

uint64_t identity()
{
    if (!known) {
        // A server without preload: a backend reads the file at its first call.
        const file_lineage file = read_file();
        if (file.bad) {
            char message[256], detail[512];
            snprintf(message, sizeof message, bad_file_message, file_name);
            snprintf(detail, sizeof detail, bad_file_detail, file.problem);
            throw pg::error(ERRCODE_DATA_CORRUPTED, message, detail, bad_file_hint);
        }
        current = file.lineage;
        known = true;
    }
    if (current_identity == 0)
        current_identity = cluster_identity(GetSystemIdentifier(), current);
    return current_identity;
}

} // namespace ai_scale::cache::lineage
