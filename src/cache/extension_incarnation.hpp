// Which install of ai_scale a backend's database has (extension_incarnation.cpp): keys fold it
// in beside the database's incarnation.
#pragma once

#include "pg/postgres.hpp"

#include <cstdint>

namespace ai_scale::cache {

// The OID of ai_scale.models, the model catalog, in the backend's database; 0 without one.
// DROP EXTENSION and CREATE EXTENSION (and a pg_restore --clean, which does both) make a new
// catalog, whose version numbers may be those of other models: a registration makes what the
// cache holds under its number unreachable (a generation bumped in Redis), but a standby that
// has not yet replayed the new catalog learns that bump at once, scored the dropped model and
// cached its output under the new generation, where the primary then read it. With the
// catalog's OID in the key, the standby's entries are its catalog's. The async store queue tags
// its rows with it, and scoring checks a compiled model's row against it (the install it was
// read from). Read once, and again after an invalidation of the table's relcache entry. In a
// transaction.
uint32_t extension_incarnation();

} // namespace ai_scale::cache
