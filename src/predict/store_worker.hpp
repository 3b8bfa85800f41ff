// What the parts of the store worker share from its lifecycle (store_worker.cpp): its slot of
// the queue and its database's name. The worker drains the queue (store_worker_drain.cpp) and
// inserts the rows (store_worker_insert.cpp). C style: Postgres errors longjmp through this code.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::predict::store_worker {

// The slot of the queue this worker drains (find_my_slot), -1 when the database has none.
extern int my_slot;
// The database's name as the worker's log lines give it, read once connected.
extern const char* my_database_name;

} // namespace ai_scale::predict::store_worker
