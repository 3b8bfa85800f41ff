#include "cache/store_scope.hpp"
#include "cache/l3_store.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"

#include <cstdint>
#include <string>

extern "C" {
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace ai_scale::cache {

namespace {

bool known = false;
std::string known_setting; // the value of ai_scale.store_table the scope was resolved for
Oid known_store = InvalidOid;
uint64_t name_changes = 0; // counted by the callbacks
bool callbacks_registered = false;

// A relation made, dropped or renamed, or a schema, may change what the setting names (a
// temporary schema too: pg_temp is resolved to the session's own).
void forget_store(Datum, int, uint32)
{
    known = false;
    name_changes++;
}

} // namespace

Oid store_scope()
{
    const char* setting = guc::store_table == nullptr ? "" : guc::store_table;
    if (known && known_setting == setting)
        return known_store;
    if (!callbacks_registered) {
        pg::call([] {
            CacheRegisterSyscacheCallback(RELNAMENSP, forget_store, 0);
            CacheRegisterSyscacheCallback(NAMESPACENAME, forget_store, 0);
        });
        callbacks_registered = true;
    }
    // Known only once resolved, and only if no change was read meanwhile (the look-ups take
    // invalidations in): an error, or a change, leaves it to be resolved again next time.
    known = false;
    const uint64_t changes_before = name_changes;
    const Oid store = store_table_relid();
    known_setting = setting;
    known_store = store;
    known = name_changes == changes_before;
    return store;
}

} // namespace ai_scale::cache
