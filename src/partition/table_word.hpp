// The word DROP and COMMENT ON take for a partition (table_word.cpp).
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// "FOREIGN TABLE" for a foreign table, which DROP TABLE and COMMENT ON TABLE refuse ("use DROP
// FOREIGN TABLE"), "TABLE" for any other relation; nullptr when rel does not exist. The one
// answer for the maintenance worker's statements and for ai_scale._table_word, which the
// PL/pgSQL maintenance builds its own with.
const char* table_word(Oid rel);

} // namespace ai_scale::partition
