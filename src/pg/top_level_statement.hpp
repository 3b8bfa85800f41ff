// Which statement a client sent this backend is running: a number that changes at each one.
//
// Postgres's statement start timestamp is set once a protocol message: every statement of a
// simple Query message of several ("a; b", as psql -c and many drivers send a script) shares
// it, and a FETCH of a cursor gets one of its own. Counted here instead, at each portal the
// client's protocol runs at the top level, from executor and utility hooks (nested queries, of
// functions and triggers, are not statements of their own, nor are a deferred trigger's at
// COMMIT): a FETCH or MOVE, and an Execute of the extended protocol that goes on with its
// portal, go on with the statement that started the portal.
#pragma once

#include <cstdint>

namespace ai_scale::pg {

// Installs the hooks that count. Loaded during a statement (without shared_preload_libraries,
// at a session's first call), the rest of the protocol message it came in is taken as one
// statement: the hooks cannot know how deep they were installed.
void install_statement_hooks();

// The statement being run; 0 before the first one the hooks saw.
uint64_t top_level_statement();

} // namespace ai_scale::pg
