// _bridge_selftest(kind): exercises the C++/Postgres boundary from SQL, so pg_regress proves
// that errors cross it cleanly in both directions. Revoked from PUBLIC in the install script.
#include "pg/guard.hpp"

extern "C" {
#include "utils/builtins.h"
}

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace {

// Counts destructor runs of objects alive while an error unwinds through C++ frames.
int destructors_run = 0;

struct scope_witness {
    ~scope_witness() { destructors_run++; }
};

// A Postgres call that ereports 22P02 from inside C++ code that owns a destructor.
void postgres_error_through_cpp()
{
    scope_witness witness;
    std::string owned = "not a number";
    ai_scale::pg::call([&] { return DirectFunctionCall1(int4in, CStringGetDatum(owned.c_str())); });
}

// A C++ exception thrown by the callable given to pg::call, as the cache fills at commit can
// throw std::bad_alloc from inside theirs (predict/pending_fills.cpp): it leaves pg::call's
// PG_TRY without PG_END_TRY.
void exception_inside_call()
{
    ai_scale::pg::call([] { throw std::runtime_error("a C++ exception thrown inside pg::call"); });
}

} // namespace

AI_SCALE_FUNCTION(ai_scale_bridge_selftest)
{
    const char* kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
    if (strcmp(kind, "ok") == 0)
        PG_RETURN_TEXT_P(cstring_to_text("ok"));
    if (strcmp(kind, "runtime_error") == 0)
        throw std::runtime_error("a C++ exception thrown on purpose");
    if (strcmp(kind, "bad_alloc") == 0)
        throw std::bad_alloc();
    if (strcmp(kind, "user_error") == 0)
        throw ai_scale::pg::error(ERRCODE_INVALID_PARAMETER_VALUE, "an ai_scale error on purpose",
                                  "Raised by _bridge_selftest.", "Nothing to fix.");
    if (strcmp(kind, "postgres_error") == 0) {
        postgres_error_through_cpp();
        PG_RETURN_TEXT_P(cstring_to_text("unreachable"));
    }
    if (strcmp(kind, "exception_in_call") == 0) {
        exception_inside_call();
        PG_RETURN_TEXT_P(cstring_to_text("unreachable"));
    }
    if (strcmp(kind, "destructors") == 0)
        PG_RETURN_TEXT_P(cstring_to_text(psprintf("%d", destructors_run)));
    throw ai_scale::pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                              std::string("unknown self-test kind \"") + kind + "\"", "",
                              "Use ok, runtime_error, bad_alloc, user_error, postgres_error or "
                              "exception_in_call.");
}
