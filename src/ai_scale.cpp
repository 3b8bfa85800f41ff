// Entry point of the extension: settings, shared memory requests, background workers. Wiring
// only; each component owns its logic.
#include "cache/shared_memory.hpp"
#include "cache/lineage.hpp"
#include "database_commands.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"
#include "partition/launcher.hpp"
#include "partition/worker_registry.hpp"
#include "pg/shmem.hpp"
#include "pg/top_level_statement.hpp"
#include "predict/queue.hpp"
#include "scoring/interruption.hpp"
#include "stats/shared_stats.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

void _PG_init(void)
{
    using namespace ai_scale;

    guc::define_all();
    // Parsing, importing and compiling large models (pure C++) stop at a cancel.
    scoring::interruption_hook = pg::check_for_interrupts;

    // Where a statement begins, for the cache's hold of writes Redis did not answer.
    pg::install_statement_hooks();

    // Loaded by CREATE EXTENSION or LOAD, without shared memory or background workers: the
    // stats raise an error naming shared_preload_libraries, the cache goes without L1 (a
    // NOTICE says so), no worker runs maintenance, and an async predict() stores its rows as
    // a sync one does; everything else works (sql/no_preload*.sql).
    if (!process_shared_preload_libraries_in_progress) {
        pg::set_preloaded(false);
        return;
    }
    pg::set_preloaded(true);

    stats::request_shared_memory();
    // --- partition maintenance ---
    partition::register_maintenance_launcher();
    partition::install_worker_registry();
    // --- cache ---
    cache::request_shared_memory();
    // At the server's start, not here: `postgres -C` loads this library too, and must not draw
    // a lineage (TAP 234).
    pg::at_server_start(cache::lineage::settle_at_start);
    // --- predict ---
    predict::request_queue_memory();

    install_database_command_hook();
    pg::install_shmem_hooks();
}
