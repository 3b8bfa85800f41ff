// Whether a statement the maintenance worker runs as itself would run code of a table owner's
// (owner_code.cpp).
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// Whether a CHECK constraint of rel calls a function (or an operator's, a cast's, a type's
// input or output function) that is not built in. ALTER TABLE ... DETACH PARTITION ...
// CONCURRENTLY, which the worker runs as its own role (it commits inside, and a
// security-restricted operation cannot span a commit), folds the constant parts of the
// partition's CHECK constraints to see whether one implies the partition constraint: a function
// the owner declared IMMUTABLE there ran with the worker's rights, a superuser's by default.
// Such a partition is detached or dropped by the run itself, as its owner, instead. False when
// rel does not exist. Postgres calls only, inside pg::call.
bool check_constraints_call_user_code(Oid rel);

} // namespace ai_scale::partition
