// Which foreign keys reference a table, read through pg_depend's index (foreign_keys.cpp).
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// The oldest (lowest OID) foreign key constraint that references rel, or InvalidOid when none
// does. A key that references a partitioned table has a constraint of its own on each of its
// partitions, so a partition's own keys are found here too. Postgres calls only, inside
// pg::call.
Oid first_referencing_foreign_key(Oid rel);

} // namespace ai_scale::partition
