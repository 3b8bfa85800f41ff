// The part of a Postgres error's context that pg::invoke hands on (pure: no Postgres).
#pragma once

#include <string>

namespace ai_scale::pg {

// The lines of context (an ErrorData's, innermost first, one a line) that name a function:
// PL/pgSQL's 'PL/pgSQL function f() line 5 at SQL statement', a SQL function's 'SQL function
// "f" statement 1'. Not those quoting a statement ('SQL statement "..."'): the statements
// ai_scale runs are not shown to its callers.
std::string function_lines(const std::string& context);

} // namespace ai_scale::pg
