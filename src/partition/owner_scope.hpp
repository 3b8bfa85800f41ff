// Acting as a managed table's owner (owner_scope.cpp): who the owner is, and the check that the
// caller has the owner's privileges.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// The owner of rel; InvalidOid when rel does not exist.
Oid owner_of(Oid rel);

// The owner of rel, once the caller is found to have the owner's privileges (42501 otherwise,
// 42P01 when rel does not exist): acting as the owner only ever gives up rights.
Oid require_owner_rights(Oid rel);

} // namespace ai_scale::partition
