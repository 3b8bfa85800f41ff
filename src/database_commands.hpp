// DROP DATABASE, ALTER DATABASE ... RENAME TO / SET TABLESPACE and CREATE DATABASE ... TEMPLATE
// want no other session in the database they act on. Postgres terminates its own autovacuum
// workers there first; this hook does the same for ai_scale's (the maintenance worker and the
// async store worker), so that those statements do not fail with "database is being accessed
// by other users" while a worker is connected.
#pragma once

namespace ai_scale {

// Installs the ProcessUtility hook; call from _PG_init while preloading.
void install_database_command_hook();

} // namespace ai_scale
