#include "cache/lineage.hpp"
#include "cache/lineage_rules.hpp"
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

// Written in the style of C: the postmaster's part raises FATAL with no C++ object alive.

namespace ai_scale::cache::lineage {

namespace {
bool known = false;
uint64_t current = 0;

bool exists(const char* name)
{
    struct stat st;
    return stat(name, &st) == 0;
}

// The file's lineage; 0 when there is none. The working directory is the data directory.
uint64_t read_file()
{
    FILE* f = fopen(file_name, "r");
    if (f == nullptr) {
        if (errno != ENOENT)
            ereport(WARNING, (errcode_for_file_access(),
                              errmsg("ai_scale: could not read file \"%s\": %m", file_name),
                              errdetail("The cache keys use the system identifier alone.")));
        return 0;
    }
    char buf[32];
    const size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const auto lineage = parse(std::string_view(buf, n));
    if (!lineage) {
        ereport(WARNING,
                (errcode(ERRCODE_DATA_CORRUPTED),
                 errmsg("ai_scale: file \"%s\" does not hold a cache lineage", file_name),
                 errdetail("The cache keys use the system identifier alone."),
                 errhint("Remove the file; a server restored from a backup writes it anew.")));
        return 0;
    }
    return *lineage;
}

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
    if (restored_start(exists("recovery.signal"), exists("backup_label"), exists("standby.signal"),
                       recovery_target_set())) {
        uint64_t lineage = 0;
        while (lineage == 0)
            if (!pg_strong_random(&lineage, sizeof lineage))
                ereport(FATAL, (errmsg("ai_scale: could not generate a random cache lineage")));
        write_file(lineage);
        ereport(LOG, (errmsg("ai_scale: this server was restored from a backup: its cache keys "
                             "in Redis are its own from now on (lineage %016llx)",
                             (unsigned long long)lineage),
                      errdetail("It will not read what the cluster it was copied from cached, "
                                "nor write where that cluster reads.")));
    }
    current = read_file();
    known = true;
}

uint64_t identity()
{
    if (!known) {
        current = read_file();
        known = true;
    }
    return cluster_identity(GetSystemIdentifier(), current);
}

} // namespace ai_scale::cache::lineage
