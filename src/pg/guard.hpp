// The C++/Postgres boundary, in both directions.
//
//  * C++ -> Postgres: every SQL-callable function is declared with AI_SCALE_FUNCTION, whose body
//    runs inside pg::invoke(). A C++ exception escaping the body becomes ereport(ERROR) with the
//    exception's SQLSTATE (pg::error) or XX000 / 53200 for anything else.
//  * Postgres -> C++: Postgres code that may ereport(ERROR) is called through pg::call(), which
//    catches the longjmp with PG_TRY and rethrows it as pg::postgres_error, so C++ destructors on
//    the way up run. The callable given to pg::call must not itself own objects with destructors;
//    a C++ exception it throws passes through unchanged.
//
// Calling a Postgres function directly from a body is fine while no C++ object with a destructor
// is alive in any frame between it and AI_SCALE_FUNCTION; otherwise use pg::call.
#pragma once

#include "pg/postgres.hpp"

#include <string>
#include <type_traits>
#include <utility>

namespace ai_scale::pg {

// An error meant for the user: becomes ereport(ERROR) with this SQLSTATE at the SQL boundary.
// sqlstate is a packed code such as ERRCODE_INVALID_PARAMETER_VALUE.
class error : public std::exception {
  public:
    error(int sqlstate, std::string message, std::string detail = {}, std::string hint = {})
        : sqlstate_(sqlstate), message_(std::move(message)), detail_(std::move(detail)),
          hint_(std::move(hint))
    {}
    int sqlstate() const { return sqlstate_; }
    const char* what() const noexcept override { return message_.c_str(); }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }

  private:
    int sqlstate_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

// A Postgres ERROR caught by pg::call(), carrying the original SQLSTATE and texts, and the
// names of the objects it concerns (a violated constraint, its table and schema, a column, a
// type), which pg::invoke hands on so clients can read them (psql's VERBOSITY verbose, libpq's
// PG_DIAG_CONSTRAINT_NAME, PL/pgSQL's GET STACKED DIAGNOSTICS).
class postgres_error : public error {
  public:
    using error::error;
    struct object_names {
        std::string schema, table, column, datatype, constraint;
    };
    object_names names;
    // The lines of the error's context that name a function (PL/pgSQL's 'PL/pgSQL function f()
    // line 5 at SQL statement', a SQL function's), innermost first, which pg::invoke hands on:
    // an error raised in a user's trigger or event trigger that a statement of ours ran came
    // out with no word of where. Not the lines quoting a statement ('SQL statement "..."'):
    // ours are not shown.
    std::string function_context;
};

// Runs a SQL-callable body; never lets a C++ exception reach Postgres.
Datum invoke(PGFunction body, FunctionCallInfo fcinfo);

namespace detail {
// Copies the current Postgres error into caller_cxt and clears the error state.
ErrorData* capture_error(MemoryContext caller_cxt);
[[noreturn]] void throw_postgres_error(ErrorData* edata);

// The stacks PG_TRY saves and PG_END_TRY puts back. A C++ exception thrown inside a PG_TRY
// block leaves it without PG_END_TRY: PG_exception_stack then pointed into the finished
// pg::call, the next ERROR (the one pg::invoke raises for that very exception) jumped there,
// and the backend crashed (SIGSEGV: every session was restarted).
struct try_stacks {
    sigjmp_buf* exception_stack = PG_exception_stack;
    ErrorContextCallback* context_stack = error_context_stack;
    // And the interrupt holdoffs, which an ERROR zeroes before it jumps (errfinish). Caught
    // where Postgres holds interrupts (the callbacks at commit), a zero left there was taken
    // below zero by the RESUME_INTERRUPTS that ends the commit: the count wrapped to 2^32 - 1,
    // and the session was beyond statement_timeout, cancel and terminate until its next ERROR
    // (sql/interrupts_after_commit_error.sql).
    uint32 interrupt_holdoff = InterruptHoldoffCount;
    uint32 cancel_holdoff = QueryCancelHoldoffCount;
    void restore_holdoffs() const
    {
        InterruptHoldoffCount = interrupt_holdoff;
        QueryCancelHoldoffCount = cancel_holdoff;
    }
};

// f(), called inside a PG_TRY block entered with `outer` saved; a C++ exception puts the
// stacks back before it goes on.
template <typename F> decltype(auto) run_in_try(F& f, const try_stacks& outer)
{
    try {
        return f();
    } catch (...) {
        PG_exception_stack = outer.exception_stack;
        error_context_stack = outer.context_stack;
        throw;
    }
}
} // namespace detail

// Calls f, which may ereport(ERROR); a Postgres error comes back as pg::postgres_error.
template <typename F> auto call(F&& f) -> decltype(f())
{
    using result_t = decltype(f());
    MemoryContext caller_cxt = CurrentMemoryContext;
    const detail::try_stacks outer;
    ErrorData* volatile caught = nullptr;
    if constexpr (std::is_void_v<result_t>) {
        PG_TRY();
        {
            detail::run_in_try(f, outer);
        }
        PG_CATCH();
        {
            outer.restore_holdoffs();
            caught = detail::capture_error(caller_cxt);
        }
        PG_END_TRY();
        if (caught != nullptr)
            detail::throw_postgres_error(caught);
    } else {
        static_assert(std::is_scalar_v<result_t>,
                      "pg::call returns plain values (Datums, pointers, numbers)");
        // volatile: assigned after sigsetjmp, read after a possible siglongjmp.
        volatile result_t result{};
        PG_TRY();
        {
            result = detail::run_in_try(f, outer);
        }
        PG_CATCH();
        {
            outer.restore_holdoffs();
            caught = detail::capture_error(caller_cxt);
        }
        PG_END_TRY();
        if (caught != nullptr)
            detail::throw_postgres_error(caught);
        return result;
    }
}

// CHECK_FOR_INTERRUPTS for C++ frames (a long batch, a wait for a Redis reply): a pending
// cancel, termination or statement timeout comes back as pg::postgres_error, so destructors
// run. Costs a load and a branch when nothing is pending.
inline void check_for_interrupts()
{
    if (unlikely(INTERRUPTS_PENDING_CONDITION()))
        call([] { ProcessInterrupts(); });
}

// The text of the first of several failures, kept without allocating: for the callbacks that
// run after a commit, which must not throw (std::bad_alloc from copying a message included).
struct first_failure {
    bool failed = false;
    char text[256] = "";
    void note(const char* what) noexcept
    {
        if (!failed)
            strlcpy(text, what, sizeof text);
        failed = true;
    }
};

// A call that handles a batch of at least large_batch elements notes it, and the end of its
// transaction hands the heap freed by then back with malloc_trim: glibc keeps it otherwise
// (the first large free raises malloc's trim threshold to up to 64 MB), and one
// 100,000-element cache_get_many or predict_batch left a backend 50 to 100 MB larger for the
// rest of its life.
constexpr size_t large_batch = 10000;
// Or answers of this many bytes in all: 2000 values of 100 kB read by one cache_get_many left
// 126 MB (each value's copies lie in the heap, under malloc's mmap threshold).
constexpr size_t large_batch_bytes = 16 * 1024 * 1024;
void note_batch(size_t elements, size_t bytes = 0);
// malloc_trim now when a large batch was noted since the last trim.
void release_batch_memory();

} // namespace ai_scale::pg

// Declares a SQL-callable function `name` whose body (the block that follows) runs under
// pg::invoke. Usage:  AI_SCALE_FUNCTION(my_func) { ... return Datum; }
#define AI_SCALE_FUNCTION(name)                                                                    \
    static Datum name##_body(FunctionCallInfo fcinfo);                                             \
    extern "C" {                                                                                   \
    PG_FUNCTION_INFO_V1(name);                                                                     \
    }                                                                                              \
    extern "C" Datum name(PG_FUNCTION_ARGS)                                                        \
    {                                                                                              \
        return ::ai_scale::pg::invoke(name##_body, fcinfo);                                        \
    }                                                                                              \
    static Datum name##_body(FunctionCallInfo fcinfo)
