#include "cache/extension_incarnation.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace ai_scale::cache {

namespace {

Oid known_catalog = InvalidOid; // none known when InvalidOid: looked up at each call
bool callback_registered = false;

// A DROP EXTENSION invalidates the dropped table's entry; InvalidOid is a reset of them all.
void forget_catalog(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == known_catalog)
        known_catalog = InvalidOid;
}

} // namespace

uint32_t extension_incarnation()
{
    if (OidIsValid(known_catalog))
        return known_catalog;
    known_catalog = pg::call([] {
        if (!callback_registered) {
            CacheRegisterRelcacheCallback(forget_catalog, 0);
            callback_registered = true;
        }
        const Oid schema = get_namespace_oid("ai_scale", true);
        return OidIsValid(schema) ? get_relname_relid("models", schema) : InvalidOid;
    });
    return known_catalog;
}

} // namespace ai_scale::cache
