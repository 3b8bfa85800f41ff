// Acting as a managed table's owner (owner_scope.cpp): who the owner is, the check that the
// caller has the owner's privileges, and the scope its reads run in.
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// The owner of rel; InvalidOid when rel does not exist.
Oid owner_of(Oid rel);

// The owner of rel, once the caller is found to have the owner's privileges (42501 otherwise,
// 42P01 when rel does not exist): acting as the owner only ever gives up rights.
Oid require_owner_rights(Oid rel);

// require_owner_rights, once no table under rel (its partitions at every level, its inheritance
// children), no function of an enabled trigger there (SECURITY DEFINER or not), nothing a
// trigger's WHEN condition uses there (a function, operator or type), and no table with a
// foreign key referencing a table there belongs to a role that may not SET ROLE to rel's owner,
// and no such role holds TRIGGER on a table there (42501 otherwise):
// acting as the owner, maintenance fires their triggers, and plans over their index predicates
// and over the referencing tables (a DETACH), code of their owners', which would run with the
// rights of rel's owner. reads_only: for a query that only reads the tree (fires no trigger,
// checks no foreign key, detaches nothing): its tables alone are looked at, as planning the query
// folds their index expressions; a role with REFERENCES or TRIGGER on the table could otherwise
// refuse every register_model of a new name.
Oid require_acting_owner(Oid rel, bool reads_only = false);

// Runs body(arg) as owner, in a security-restricted operation, with search_path pg_catalog,
// pg_temp and row_security off; the identity is put back however body ends. body is Postgres
// code (it may ereport): no C++ object with a destructor may be alive in it.
void in_owner_scope(Oid owner, void (*body)(void* arg), void* arg);

} // namespace ai_scale::partition
