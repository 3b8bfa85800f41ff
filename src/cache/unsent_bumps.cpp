#include "cache/unsent_bumps.hpp"
#include "cache/generation_slots.hpp"
#include "cache/unsent_bumps_format.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "common/file_perm.h"
#include "storage/fd.h"
}

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

// Run by the postmaster, which has no error handler to catch an ERROR: problems are WARNING or
// LOG lines, and no C++ exception leaves a function here.

namespace ai_scale::cache::unsent_bumps {

namespace {

// file_errno: why the file could not be read, 0 when it holds something else.
std::nullopt_t marked_everywhere(const char* problem, int file_errno = 0)
{
    errno = file_errno; // for errcode_for_file_access
    ereport(WARNING,
            (file_errno != 0 ? errcode_for_file_access() : errcode(ERRCODE_DATA_CORRUPTED),
             errmsg("ai_scale: file \"%s\" does not hold the cache invalidations carried from "
                    "before this start",
                    file_name),
             errdetail("%s", problem),
             errhint("Every model's values cached in Redis are missed once, at the first use "
                     "of each, as though all were invalidated.")));
    return std::nullopt;
}

// The file's text, up to what the largest file format writes and a byte more. False with
// *file_errno set when it could not be read, or 0 when there is none.
bool read_text(std::string& text, char* problem, size_t problem_size, int* file_errno)
{
    *file_errno = 0;
    const int fd = open(file_name, O_RDONLY | PG_BINARY);
    if (fd < 0) {
        if (errno != ENOENT) {
            *file_errno = errno;
            snprintf(problem, problem_size, "It could not be opened: %s.", strerror(errno));
        }
        return false;
    }
    const size_t limit = 64 + size_t(generation::n_slots) * max_line_bytes;
    text.resize(limit + 1);
    size_t have = 0;
    for (;;) {
        const ssize_t n = read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *file_errno = errno;
            snprintf(problem, problem_size, "It could not be read: %s.", strerror(errno));
            close(fd);
            return false;
        }
        have += size_t(n);
        if (n == 0 || have == text.size())
            break;
    }
    close(fd);
    text.resize(have);
    return true;
}

// The file's slots (none when there is no file), or nullopt with why in problem and
// *file_errno (0 when it holds something else, or there was no memory to read it).
std::optional<std::vector<carried>> read_slots(char* problem, size_t problem_size, int* file_errno)
{
    try {
        std::string text;
        if (!read_text(text, problem, problem_size, file_errno)) {
            if (*file_errno == 0)
                return std::vector<carried>();
            return std::nullopt;
        }
        auto slots = parse(text);
        if (!slots)
            snprintf(problem, problem_size,
                     "It holds other than the list of generation slots this extension writes.");
        return slots;
    } catch (const std::bad_alloc&) {
        *file_errno = 0;
        snprintf(problem, problem_size, "There was no memory to read it.");
        return std::nullopt;
    }
}

} // namespace

std::optional<std::vector<carried>> load()
{
    char problem[200] = "";
    int file_errno = 0;
    auto slots = read_slots(problem, sizeof problem, &file_errno);
    if (!slots)
        return marked_everywhere(problem, file_errno);
    if (!slots->empty())
        ereport(LOG, (errhidestmt(true), errhidecontext(true),
                      errmsg("ai_scale: cache invalidations carried from before this start are "
                             "sent to Redis again where it lacks them"),
                      errdetail_plural("%zu generation slot was carried: bumped while Redis was "
                                       "unreachable, or in the 5 minutes before the server "
                                       "stopped, a bump a Redis failover may yet lose.",
                                       "%zu generation slots were carried: bumped while Redis was "
                                       "unreachable, or in the 5 minutes before the server "
                                       "stopped, a bump a Redis failover may yet lose.",
                                       slots->size(), slots->size())));
    return slots;
}

std::vector<carried> load_in_session()
{
    char problem[200] = "";
    int file_errno = 0;
    if (auto slots = read_slots(problem, sizeof problem, &file_errno))
        return std::move(*slots);
    errno = file_errno; // for errcode_for_file_access
    ereport(WARNING,
            (file_errno != 0 ? errcode_for_file_access() : errcode(ERRCODE_DATA_CORRUPTED),
             errmsg("ai_scale: file \"%s\" does not hold the cache invalidations carried from "
                    "before this start; this session does not apply them",
                    file_name),
             errdetail("%s Without ai_scale in shared_preload_libraries nothing rewrites it, "
                       "and marking every slot would invalidate every model at each session.",
                       problem),
             errhint("Start the server with ai_scale preloaded, which marks every slot once and "
                     "rewrites the file, or remove the file.")));
    return {};
}

void save(const std::vector<carried>& slots, bool at_exit)
{
    if (slots.empty()) {
        if (unlink(file_name) != 0 && errno != ENOENT)
            ereport(LOG, (errhidestmt(true), errhidecontext(true), errcode_for_file_access(),
                          errmsg("ai_scale: could not remove file \"%s\": %m", file_name)));
        return;
    }
    char tmp[MAXPGPATH];
    snprintf(tmp, sizeof tmp, "%s.tmp", file_name);
    const char* lost = not_carried_message;
    std::string text;
    try {
        text = format(slots);
    } catch (const std::bad_alloc&) {
        ereport(LOG, (errhidestmt(true), errhidecontext(true), errmsg("%s", lost),
                      errdetail("There was no memory to write them.")));
        return;
    }
    const char* hint =
        at_exit ? "Once Redis answers, call ai_scale.cache_invalidate again for the models "
                  "invalidated while it did not, and in the 5 minutes before the stop."
                : "The server writes them again as it stops. Killed before then, it loses them: "
                  "once Redis answers, call ai_scale.cache_invalidate again for the models "
                  "invalidated while it did not.";
    const int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY, pg_file_create_mode);
    bool written = fd >= 0;
    if (written) {
        errno = 0;
        written = write(fd, text.data(), text.size()) == ssize_t(text.size());
        if (!written && errno == 0)
            errno = ENOSPC;
        written = written && pg_fsync(fd) == 0;
        const int saved_errno = errno;
        close(fd);
        errno = saved_errno;
    }
    if (!written)
        ereport(LOG, (errhidestmt(true), errhidecontext(true), errcode_for_file_access(),
                      errmsg("%s", lost), errdetail("File \"%s\" could not be written: %m.", tmp),
                      errhint("%s", hint)));
    else if (durable_rename(tmp, file_name, LOG) != 0) // which logged why
        ereport(LOG, (errhidestmt(true), errhidecontext(true), errmsg("%s", lost),
                      errdetail_plural("%zu generation slot was to be carried: bumped while "
                                       "Redis was unreachable, or in the last 5 minutes, a bump "
                                       "a Redis failover may yet lose.",
                                       "%zu generation slots were to be carried: bumped while "
                                       "Redis was unreachable, or in the last 5 minutes, a bump "
                                       "a Redis failover may yet lose.",
                                       slots.size(), slots.size()),
                      errhint("%s", hint)));
    else
        return;
    (void)unlink(tmp);
}

} // namespace ai_scale::cache::unsent_bumps
