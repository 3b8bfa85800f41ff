// The partition maintenance launcher: one background process, connected to no database, that
// keeps a maintenance worker (src/partition/worker.cpp) running in each existing database named
// in ai_scale.maintenance_databases, following reloads of that setting.
#pragma once

#include <cstdint>

namespace ai_scale::partition {

// Registers the launcher and reserves its shared counter; call from _PG_init while preloading.
void register_maintenance_launcher();

// Whether the launcher that started a worker (passing it `generation`) has since been replaced:
// a new launcher starts workers of its own, so the old ones exit.
bool launcher_replaced(uint32_t generation);

} // namespace ai_scale::partition
