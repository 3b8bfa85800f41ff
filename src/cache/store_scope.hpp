// Which store a cache key belongs to (store_scope.cpp): keys fold it in beside the database.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::cache {

// The table the session's ai_scale.store_table names (store_table_relid()), or InvalidOid when
// it names none. Keys fold it in so that each store has a cache of its own: an L3 hit copies the
// store's row to L1 and Redis, and a role given a store of its own (ALTER ROLE ... SET
// ai_scale.store_table) writes any row there. With one cache for the database, that row answered
// every other role's cache_get and predict(), and what the role's store held was read by roles
// that may not read it. Sessions naming one store share its cache, as every session does with
// the default one. Resolved once, and again after the setting or a relation's or schema's name
// changes. In a transaction.
Oid store_scope();

} // namespace ai_scale::cache
