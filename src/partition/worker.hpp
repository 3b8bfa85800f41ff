// The partition maintenance background worker: one per database named in
// ai_scale.maintenance_databases, running ai_scale maintenance every ai_scale.maintenance_naptime.
#pragma once

namespace ai_scale::partition {

// Registers the workers; call from _PG_init while preloading.
void register_maintenance_workers();

} // namespace ai_scale::partition
