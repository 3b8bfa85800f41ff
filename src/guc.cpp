#include "guc.hpp"
#include "cache/endpoint_address.hpp"
#include "partition/database_list.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

#include <climits>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "parser/scansup.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/varlena.h"
}

namespace ai_scale::guc {

// --- partition maintenance ---
int maintenance_naptime_s = 60;
char* maintenance_databases = nullptr;
char* maintenance_role = nullptr;
int maintenance_lock_timeout_ms = 50;
char* partition_time_zone = nullptr;

// --- cache ---
int l1_entries = 16384;
int l1_max_value_bytes = 2048;
bool cache_use_l1 = true;
char* redis_primary = nullptr;
char* redis_replicas = nullptr;
char* redis_sentinels = nullptr;
char* redis_sentinel_master = nullptr;
int redis_read_from = int(read_from::replica);
int redis_timeout_ms = 100;
int redis_max_value_bytes = 1024 * 1024;
int redis_replica_max_lag_kb = 16 * 1024;
int redis_spin_us = 50;
char* redis_user = nullptr;
const char* redis_password = "";
// What the setting ai_scale.redis_password holds, whatever the password: a reload that
// changed the value would otherwise write it to the server log ("parameter ... changed to").
char* redis_password_mask = nullptr;
constexpr const char* password_mask = "********";
int redis_db = 0;
int cache_ttl_s = 3600;
int breaker_failures = 5;
int breaker_reset_ms = 5000;
bool cache_strict = false;
char* store_table = nullptr;

const char* partition_zone_problem(const char* zone, const char** hint)
{
    *hint = "Name a zone of pg_timezone_names, such as 'Europe/Berlin' or 'UTC'.";
    const size_t len = strlen(zone);
    if (len == 0 || len >= TZ_STRLEN_MAX)
        return psprintf("time zone \"%s\" not recognized", zone);
    char* lower = downcase_truncate_identifier(zone, int(len), false);
    int offset;
    pg_tz* tz;
    const int type = DecodeTimezoneAbbrev(0, lower, &offset, &tz);
    pfree(lower);
    const bool abbreviation = type == TZ || type == DTZ || type == DYNTZ;
    // The host's zone (/etc/localtime, which the zone database links as "localtime", and as
    // "posix/localtime" where posix/ links to the database itself; Postgres drops a leading ':'
    // as it loads a zone): a table's cells would move with the host's setting, or with a server
    // moved to another host.
    const char* last = strrchr(zone, '/');
    const char* base = last != nullptr ? last + 1 : (zone[0] == ':' ? zone + 1 : zone);
    if (pg_strcasecmp(base, "localtime") == 0)
        return psprintf("time zone \"%s\" cannot align partitions: it is the host's zone, "
                        "whatever that is when maintenance runs",
                        zone);
    if (pg_tz* named = pg_tzset(zone)) {
        // A zone that counts leap seconds (right/...), which Postgres refuses as TimeZone: its
        // conversions to and from local time disagree by the leap seconds (27 s since 1972),
        // so a row's cell (local time) and the bounds of its partition (instants) disagreed,
        // and rows by a midnight stayed in the default, each rescue "moving" them again.
        if (!pg_tz_acceptable(named))
            return psprintf("time zone \"%s\" cannot align partitions: it counts leap seconds",
                            zone);
        // A name that is a zone and an abbreviation too is read as the abbreviation (AT TIME
        // ZONE looks there first): the same for a zone of one offset that the abbreviation
        // has (EST, UTC), but CET, EET, MET and WET have summer time, which the abbreviation
        // does not: monthly partitions of July began at 23:00 UTC, not Paris's 22:00.
        long fixed;
        if (!abbreviation ||
            (type == TZ && pg_get_timezone_offset(named, &fixed) && fixed == offset))
            return nullptr;
        *hint = "Name the zone of pg_timezone_names of the place, such as 'Europe/Paris' for CET.";
        return psprintf("time zone \"%s\" cannot align partitions: Postgres reads it as the "
                        "abbreviation, one offset all year, where the zone of that name keeps "
                        "summer time",
                        zone);
    }
    if (abbreviation) {
        *hint = "An abbreviation means what the reading session's timezone_abbreviations says, "
                "and maintenance may run in another session: name the zone of pg_timezone_names "
                "the abbreviation stands for (such as 'Asia/Kolkata' for IST).";
        return psprintf("time zone abbreviation \"%s\" cannot align partitions", zone);
    }
    return psprintf("time zone \"%s\" not recognized", zone);
}

namespace {
const config_enum_entry read_from_options[] = {
    {"replica", int(read_from::replica), false},
    {"primary", int(read_from::primary), false},
    {nullptr, 0, false},
};

// A list of endpoints (parse_endpoint), separated by commas with spaces around them allowed. A
// socket path runs to the next comma, less the spaces at its end, so that one with a space in
// it is refused as such rather than read as two entries.
bool check_endpoint_list(char** newval, const char* name, bool allow_many,
                         cache::socket_paths sockets)
{
    const char* s = *newval;
    if (s == nullptr || *s == '\0')
        return true;
    std::vector<cache::endpoint_address> seen;
    for (;;) {
        while (*s == ' ')
            s++;
        const char* end = s;
        if (*s == '/' && sockets == cache::socket_paths::allowed) {
            while (*end && *end != ',')
                end++;
            while (end > s && end[-1] == ' ')
                end--;
        } else {
            while (*end && *end != ',' && *end != ' ')
                end++;
        }
        if (end == s && allow_many) {
            GUC_check_errmsg("%s has an empty entry", name);
            GUC_check_errhint("Separate endpoints with single commas, with none at either end.");
            return false;
        }
        // Refused as `invalid Redis endpoint ""`, which read as if '' (no endpoint) were.
        if (end == s && *end == '\0') {
            GUC_check_errmsg("%s holds only spaces", name);
            GUC_check_errhint("Set it to '' for none, or to one endpoint, for example "
                              "127.0.0.1:6379.");
            return false;
        }
        cache::endpoint_problem problem;
        const std::string_view entry(s, size_t(end - s));
        auto address = cache::parse_endpoint(entry, &problem, sockets);
        if (!address) {
            // A password holding a space or a comma was cut at it, and its first part shown
            // as the entry: with an '@' or a '?' anywhere, the whole value is shown masked.
            const std::string_view whole(*newval);
            if (whole.find_first_of("@?") != std::string_view::npos)
                problem.message = cache::invalid_endpoint_message(whole);
            GUC_check_errmsg("%s", problem.message.c_str());
            GUC_check_errhint("%s%s", problem.hint.c_str(),
                              allow_many ? " Separate endpoints with commas." : "");
            return false;
        }
        // A replica named twice took two turns of the reads, a Sentinel two of the asking.
        for (const auto& before : seen)
            if (cache::same_endpoint(before, *address)) {
                GUC_check_errmsg("%s names \"%.*s\" twice", name, int(entry.size()), entry.data());
                GUC_check_errhint("Name each endpoint once.");
                return false;
            }
        seen.push_back(*address);
        while (*end == ' ')
            end++;
        if (*end == '\0')
            break;
        if (!allow_many) {
            GUC_check_errmsg("%s takes one endpoint", name);
            GUC_check_errhint("Name replicas in ai_scale.redis_replicas. A socket path cannot "
                              "contain a comma.");
            return false;
        }
        if (*end != ',') {
            GUC_check_errmsg("endpoints in %s are separated by commas", name);
            return false;
        }
        s = end + 1;
    }
    if (seen.size() > 8) {
        GUC_check_errmsg("%s takes at most 8 endpoints", name);
        return false;
    }
    return true;
}

// At most schema.table, each an identifier as SQL writes it (quoted or not); '' is no store.
bool check_store_table(char** newval, void**, GucSource)
{
    if (*newval == nullptr || **newval == '\0')
        return true;
    char* raw = pstrdup(*newval);
    List* names = nullptr;
    bool ok = SplitIdentifierString(raw, '.', &names) && list_length(names) >= 1 &&
              list_length(names) <= 2;
    // SplitIdentifierString takes "" as a name, which SQL refuses (a zero-length identifier):
    // with '""' the store was looked up and written under no name, and predict() stored nothing.
    ListCell* cell;
    foreach (cell, names)
        ok = ok && *static_cast<const char*>(lfirst(cell)) != '\0';
    list_free(names);
    pfree(raw);
    if (!ok) {
        GUC_check_errmsg("invalid ai_scale.store_table \"%s\"", *newval);
        GUC_check_errhint("Name a table as SQL writes it, optionally schema-qualified "
                          "(schema.table), in double quotes where it has spaces, capitals or "
                          "dots: '\"My Store\"'.");
    }
    return ok;
}

// ALTER ROLE / DATABASE ... SET and a function's SET clause validate their value with source
// PGC_S_TEST and then store it in pg_db_role_setting or pg_proc.proconfig, which every role may
// read. The password belongs in postgresql.conf or ALTER SYSTEM, which only superusers read.
// Values stored before this check are still applied at connection: refusing them there would
// print the value in a WARNING to whoever connects.
//
// The password is kept in the setting's extra, and the setting itself becomes a mask that
// never changes: Postgres logs a reload's changed settings with their new values, and
// compares the values to know (the password would be in the log).
bool check_redis_password(char** newval, void** extra, GucSource source)
{
    const char* value = *newval != nullptr ? *newval : "";
    if (source == PGC_S_TEST && *value != '\0') {
        GUC_check_errmsg(
            "ai_scale.redis_password cannot be set for a role, a database or a function");
        GUC_check_errdetail("Such settings are stored in catalogs that every role can read.");
        GUC_check_errhint("Set it in postgresql.conf or with ALTER SYSTEM.");
        return false;
    }
    char* kept = strdup(value);
    char* mask = strdup(password_mask);
    if (kept == nullptr || mask == nullptr) {
        free(kept);
        free(mask);
        GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
        return false;
    }
    free(*newval);
    *newval = mask;
    *extra = kept;
    return true;
}

void assign_redis_password(const char*, void* extra)
{
    redis_password = extra != nullptr ? static_cast<const char*>(extra) : "";
}

// SHOW (superusers only): whether a password is set, never the password.
const char* show_redis_password()
{
    return *redis_password != '\0' ? password_mask : "";
}

bool check_maintenance_databases(char** newval, void**, GucSource)
{
    pg::first_failure problem; // (reported once the handler has ended: the report pallocs)
    try {
        partition::parse_database_list(*newval ? *newval : "", NAMEDATALEN);
        return true;
    } catch (const partition::invalid_database_list& e) {
        problem.note(e.what());
    }
    GUC_check_errmsg("invalid ai_scale.maintenance_databases: %s", problem.text);
    GUC_check_errhint("Name at most %zu databases, separated by commas, each shorter than %d "
                      "bytes.",
                      partition::max_maintenance_databases, NAMEDATALEN);
    return false;
}

// A check hook whose C++ may throw (std::bad_alloc): Postgres calls it, in the postmaster too
// at a reload, and an exception leaving it would abort the process.
template <bool (*check)(char**, void**, GucSource)>
bool check_caught(char** newval, void** extra, GucSource source)
{
    try {
        return check(newval, extra, source);
    } catch (...) {
    }
    GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
    GUC_check_errmsg("out of memory");
    return false;
}

// A zone manage_partitions takes (it converts with AT TIME ZONE): a tz database name or POSIX
// spec ('Europe/Berlin', 'UTC+3'), as partition_zone_problem judges it.
bool check_partition_time_zone(char** newval, void**, GucSource)
{
    const char* hint = nullptr;
    const char* problem = partition_zone_problem(*newval ? *newval : "", &hint);
    if (problem == nullptr)
        return true;
    GUC_check_errmsg("%s", problem);
    GUC_check_errhint("%s", hint);
    return false;
}

bool check_primary(char** newval, void**, GucSource)
{
    return check_endpoint_list(newval, "ai_scale.redis_primary", false,
                               cache::socket_paths::allowed);
}
bool check_replicas(char** newval, void**, GucSource)
{
    return check_endpoint_list(newval, "ai_scale.redis_replicas", true,
                               cache::socket_paths::allowed);
}
bool check_sentinels(char** newval, void**, GucSource)
{
    return check_endpoint_list(newval, "ai_scale.redis_sentinels", true,
                               cache::socket_paths::refused);
}
// A name as sentinel.conf's `sentinel monitor` takes it: one word of printable characters.
bool check_sentinel_master(char** newval, void**, GucSource)
{
    const char* s = *newval ? *newval : "";
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 128;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > ' ' && s[i] < 127;
    if (!ok) {
        GUC_check_errmsg("invalid Redis Sentinel master name \"%s\"", s);
        GUC_check_errhint("Give the name sentinel.conf monitors, one word of at most 128 "
                          "printable characters.");
    }
    return ok;
}
// A Redis ACL user name: no spaces or control characters (Redis refuses spaces and NULs in
// one), at most 1024 bytes. A newline in it was printed as it was in errors and the server log,
// where the rest read as a line of its own.
bool check_redis_user(char** newval, void**, GucSource)
{
    const char* s = *newval ? *newval : "";
    size_t n = strlen(s);
    bool ok = n <= 1024;
    for (size_t i = 0; ok && i < n; i++)
        ok = static_cast<unsigned char>(s[i]) > ' ' && s[i] != 127;
    if (!ok) {
        GUC_check_errmsg("invalid Redis user name");
        GUC_check_errdetail("It has a space or a control character, or more than 1024 bytes.");
        GUC_check_errhint("Give the name ACL SETUSER made, or '' for the default user.");
    }
    return ok;
}
} // namespace

// --- scoring ---

int score_batch_rows = 4096;
int model_cache_kb = 64 * 1024;

// --- scoring: GPU offload ---
int gpu_mode = gpu_auto;
int gpu_min_batch = 10000;
char* gpu_library = nullptr;

namespace {
const struct config_enum_entry gpu_mode_options[] = {
    {"auto", gpu_auto, false}, {"on", gpu_on, false}, {"off", gpu_off, false}, {nullptr, 0, false}};
}

// --- predict ---
int store_mode = store_sync;
int store_queue_kb = 8192;

namespace {
const struct config_enum_entry store_mode_options[] = {{"sync", store_sync, false},
                                                       {"async", store_async, false},
                                                       {"off", store_off, false},
                                                       {nullptr, 0, false}};
}

namespace {

// Postmaster settings can only be defined while preloading. Loaded later, the library has no
// shared memory for them to size, and they are plain reloadable settings, as maintenance_role
// is: internal ones, a value postgresql.conf gives them (left from a preloaded setup) warned
// "cannot be changed" at every load of the library, every session with session_preload_libraries.
GucContext postmaster_context()
{
    return process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP;
}

void define_partition_settings()
{
    // Postgres allows PGC_POSTMASTER settings only while preloading; loaded later (no workers
    // then anyway) they are plain reloadable settings.
    const GucContext startup_only =
        process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP;
    DefineCustomIntVariable("ai_scale.maintenance_naptime",
                            "Time between partition maintenance runs of the background worker.",
                            nullptr, &maintenance_naptime_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
                            nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "ai_scale.maintenance_databases",
        "Comma-separated databases the maintenance worker runs in; empty starts no worker.",
        "Read again on reload: the launcher starts and stops workers to match.",
        &maintenance_databases, "", PGC_SIGHUP, 0, check_caught<check_maintenance_databases>,
        nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.maintenance_role",
                               "Role the maintenance worker connects as; empty means the bootstrap "
                               "superuser.",
                               nullptr, &maintenance_role, "", startup_only, 0, nullptr, nullptr,
                               nullptr);
    DefineCustomIntVariable("ai_scale.maintenance_lock_timeout",
                            "Longest wait for a lock by partition maintenance before it skips the "
                            "action and retries on the next run.",
                            nullptr, &maintenance_lock_timeout_ms, 50, 1, 600000, PGC_USERSET,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.partition_time_zone",
                               "Time zone partition boundaries are aligned in, unless "
                               "manage_partitions names one.",
                               nullptr, &partition_time_zone, "UTC", PGC_USERSET, 0,
                               check_partition_time_zone, nullptr, nullptr);
}

// L1 in shared memory.
void define_l1_settings()
{
    const GucContext postmaster = postmaster_context();
    DefineCustomIntVariable(
        "ai_scale.l1_entries", "Entries in the shared-memory L1 cache (0 disables L1).",
        "Rounded up to a multiple of 8; each entry reserves "
        "ai_scale.l1_max_value_bytes of shared memory.",
        &l1_entries, 16384, 0, 1 << 22, postmaster, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ai_scale.l1_max_value_bytes",
                            "Largest cached output (jsonb binary) kept in L1; larger ones skip L1.",
                            nullptr, &l1_max_value_bytes, 2048, 64, 1 << 20, postmaster,
                            GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("ai_scale.cache_use_l1",
                             "Whether cache functions read and fill the shared-memory L1.", nullptr,
                             &cache_use_l1, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

// L2 in Redis: where it is and how it is reached.
void define_redis_settings()
{
    DefineCustomStringVariable(
        "ai_scale.redis_primary",
        "Redis primary (host:port, or a Unix-domain socket's path) for the L2 cache; empty "
        "disables L2.",
        nullptr, &redis_primary, "", PGC_SUSET, 0, check_caught<check_primary>, nullptr, nullptr);
    DefineCustomStringVariable(
        "ai_scale.redis_replicas",
        "Redis replicas (comma-separated host:port or socket paths) that serve L2 reads.", nullptr,
        &redis_replicas, "", PGC_SUSET, 0, check_caught<check_replicas>, nullptr, nullptr);
    DefineCustomStringVariable(
        "ai_scale.redis_sentinels",
        "Redis Sentinels (comma-separated host:port) that name the L2 primary and replicas.",
        "When set, the primary and replicas of ai_scale.redis_sentinel_master are asked from "
        "them, and ai_scale.redis_primary and ai_scale.redis_replicas are not used.",
        &redis_sentinels, "", PGC_SUSET, 0, check_caught<check_sentinels>, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.redis_sentinel_master",
                               "Name of the primary the Redis Sentinels monitor for L2.", nullptr,
                               &redis_sentinel_master, "mymaster", PGC_SUSET, 0,
                               check_sentinel_master, nullptr, nullptr);
    DefineCustomEnumVariable("ai_scale.redis_read_from",
                             "Where L2 reads go: replica (round robin, primary as fallback) or "
                             "primary.",
                             nullptr, &redis_read_from, int(read_from::replica), read_from_options,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ai_scale.redis_timeout_ms",
                            "Timeout of each Redis host name lookup, connect and round trip.",
                            nullptr, &redis_timeout_ms, 100, 1, 60000, PGC_SUSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "ai_scale.redis_max_value_bytes",
        "Largest output (jsonb binary) written to Redis; cache_put refuses a larger one.",
        "predict() and fills from the store leave a larger one out of Redis. Redis takes about "
        "as long to start the reply to a large value as to send it, and a read must end within "
        "ai_scale.redis_timeout_ms.",
        &redis_max_value_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
        nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "ai_scale.redis_replica_max_lag",
        "How far behind its primary's replication stream a replica may be and still serve reads.",
        "A replica further behind, or following another primary, is skipped for the primary. "
        "-1 skips this check (the link status is still checked).",
        &redis_replica_max_lag_kb, 16 * 1024, -1, INT_MAX, PGC_SUSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "ai_scale.redis_spin_us",
        "Microseconds a backend polls for a Redis reply, yielding the CPU, before it sleeps.",
        "0 sleeps at once. Spinning saves the wake-up of an idle CPU at low concurrency; long "
        "spins cost throughput when every core is busy.",
        &redis_spin_us, 50, 0, 1000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.redis_user",
                               "Redis ACL user name sent with AUTH (Redis 6 or later).",
                               "Empty: AUTH sends the password alone, as the default user.",
                               &redis_user, "", PGC_SUSET, 0, check_redis_user, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.redis_password", "Password sent with AUTH to Redis.",
                               "Shown as ******** when set; never shown or logged.",
                               &redis_password_mask, "", PGC_SUSET,
                               GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, check_redis_password,
                               assign_redis_password, show_redis_password);
    DefineCustomIntVariable("ai_scale.redis_db", "Redis database number (SELECT) for L2 keys.",
                            nullptr, &redis_db, 0, 0, 1023, PGC_SUSET, 0, nullptr, nullptr,
                            nullptr);
}

// The cache as a whole: time to live, the breakers of its Redis endpoints, strictness, and L3.
void define_cache_settings()
{
    // Superuser-only: what predict() caches lives in the Redis every database shares, for this
    // long after the session ends. A role with no grants, free to choose a year, filled a
    // noeviction Redis for a year with its own predictions, refusing every database's writes.
    DefineCustomIntVariable("ai_scale.cache_ttl",
                            "Default time to live of cached predictions, and the L3 window.",
                            nullptr, &cache_ttl_s, 3600, 1, 365 * 86400, PGC_SUSET, GUC_UNIT_S,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ai_scale.breaker_failures",
                            "Consecutive failures after which a Redis endpoint is skipped.",
                            nullptr, &breaker_failures, 5, 1, 1000, PGC_SUSET, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("ai_scale.breaker_reset_ms",
                            "How long an open breaker skips its endpoint before one probe.",
                            nullptr, &breaker_reset_ms, 5000, 10, 3600 * 1000, PGC_SUSET,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "ai_scale.cache_strict", "Raise an error when Redis cannot be reached instead of a miss.",
        nullptr, &cache_strict, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Superuser-only: L3 hits are written back to L1 and Redis for every user to read.
    DefineCustomStringVariable(
        "ai_scale.store_table",
        "Prediction store predict() writes and the cache reads as L3 (a table name as "
        "SQL writes it, optionally schema-qualified).",
        nullptr, &store_table, "public.model_predictions", PGC_SUSET, 0, check_store_table, nullptr,
        nullptr);
}

void define_scoring_settings()
{
    DefineCustomIntVariable(
        "ai_scale.score_batch_rows", "Rows the window function score_batched() gathers per batch.",
        "Larger batches pay off on the GPU. A batch is cut to fewer rows when its features "
        "(rows x features x 4 bytes) would exceed work_mem.",
        &score_batch_rows, 4096, 1, 1024 * 1024, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "ai_scale.model_cache_size", "Memory a backend keeps compiled models in.",
        "Past it, the least recently used models are dropped and compiled again when next "
        "scored. The model in use is kept even when it alone is larger.",
        &model_cache_kb, 64 * 1024, 0, INT_MAX, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);

    // --- scoring: GPU offload ---
    DefineCustomEnumVariable("ai_scale.gpu", "Whether large scoring batches run on the GPU.",
                             "auto: on the GPU when one is usable and the model gains from it "
                             "(mlp, gbdt), else on the CPU; on: the GPU is required (an error if "
                             "it cannot score a batch); off: CPU only.",
                             &gpu_mode, gpu_auto, gpu_mode_options, PGC_USERSET, 0, nullptr,
                             nullptr, nullptr);
    DefineCustomIntVariable(
        "ai_scale.gpu_min_batch", "Smallest batch, in rows, worth sending to the GPU.",
        "Smaller batches are scored on the CPU, which is faster for them.", &gpu_min_batch, 10000,
        1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("ai_scale.gpu_library", "Path of the GPU module ai_scale_gpu.so.",
                               "A leading $libdir stands for the server's library directory. "
                               "Loaded on first use in each backend.",
                               &gpu_library, "$libdir/ai_scale_gpu.so", PGC_SUSET, 0, nullptr,
                               nullptr, nullptr);
}

void define_predict_settings()
{
    DefineCustomEnumVariable(
        "ai_scale.store_mode", "How predict() writes new predictions to the prediction store.",
        "sync: inserted in the calling transaction; async: queued in shared "
        "memory and inserted by a background worker (sync when the queue is "
        "full or ai_scale is not preloaded); off: not stored. Never written "
        "on a hot standby.",
        &store_mode, store_sync, store_mode_options, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ai_scale.store_queue_size",
                            "Shared memory for the write-behind queue of store_mode = async.",
                            "Split among up to 8 databases; when a database's share is full, "
                            "predict() inserts synchronously. 0 disables async.",
                            &store_queue_kb, 8192, 0, 4 * 1024 * 1024, postmaster_context(),
                            GUC_UNIT_KB, nullptr, nullptr, nullptr);
}

} // namespace

void define_all()
{
    define_partition_settings();
    define_l1_settings();
    define_redis_settings();
    define_cache_settings();
    define_scoring_settings();
    define_predict_settings();
    MarkGUCPrefixReserved("ai_scale");
}

} // namespace ai_scale::guc

// ai_scale._setting(name): an ai_scale.* setting for the SQL parts of the extension. Unlike
// current_setting(), calling it loads the library, which defines the settings: without
// shared_preload_libraries a session's first call into the extension may be PL/pgSQL.
AI_SCALE_FUNCTION(ai_scale_setting)
{
    const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    if (std::strncmp(name, "ai_scale.", 9) != 0)
        throw ai_scale::pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                                  std::string("parameter \"") + name +
                                      "\" is not an ai_scale setting");
    // Settings hidden from the caller (the Redis password) stay hidden: 42501.
    const char* value = GetConfigOption(name, false, true);
    // The password's setting holds a mask whatever the password, even none (check_redis_password):
    // read so, it said a password was set when none was. What SHOW says instead.
    if (pg_strcasecmp(name, "ai_scale.redis_password") == 0)
        value = ai_scale::guc::show_redis_password();
    PG_RETURN_TEXT_P(cstring_to_text(value));
}
