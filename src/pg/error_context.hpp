// The part of a Postgres error's context that pg::invoke hands on (pure: no Postgres).
#pragma once

#include <string>

namespace ai_scale::pg {

// The lines of context (an ErrorData's, innermost first, one a line) that name a function:
// PL/pgSQL's 'PL/pgSQL function f() line 5 at SQL statement', a SQL function's 'SQL function
// "f" statement 1'. Not those quoting a statement ('SQL statement "..."'): the statements
// ai_scale runs are not shown to its callers.
std::string function_lines(const std::string& context);

// lines without outer at their end (whole lines): the frames outside a call, which the error
// the call raises again gets from Postgres anew. Kept, they came twice, and a recursion through
// ai_scale's functions grew its context by the square of its depth (3 MB at 320 levels).
std::string without_outer(const std::string& lines, const std::string& outer);

} // namespace ai_scale::pg
