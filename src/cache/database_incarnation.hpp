// Which database of an OID a backend's is (database_incarnation.cpp): keys fold it in beside the
// OID.
#pragma once

#include "pg/postgres.hpp"

#include <cstdint>

namespace ai_scale::cache {

// The transaction that wrote database's row in pg_database (its raw xmin, kept through
// freezing). With the OID, it tells a database from a dropped one that had the same OID: a role
// with CREATEDB may pick a free OID (CREATE DATABASE ... OID = n), and OIDs wrap around. A
// command that rewrites the row (ALTER DATABASE ... RENAME, OWNER TO, SET TABLESPACE, WITH ...;
// GRANT and REVOKE ON DATABASE) gives a new one; ALTER DATABASE ... SET does not. 32 bits: two
// rows written four billion transactions apart may have the same. Read once, and again after a
// change to pg_database. In a transaction; pg::error 3D000 when there is no such database.
uint32_t database_incarnation(Oid database);

} // namespace ai_scale::cache
