#include "pg/guard.hpp"
#include "pg/error_context.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
}

#include <malloc.h>

#include <new>

namespace ai_scale::pg {

namespace {
// Texts of a caught C++ exception, copied out of it before ereport: the longjmp that ereport
// does must not start while the exception object is still alive inside a catch block.
struct pending_error {
    int sqlstate = 0;
    const char* message = nullptr;
    const char* detail = nullptr;
    const char* hint = nullptr;
    // The PG_DIAG_* fields of a Postgres error caught by pg::call, null when absent.
    const char* schema = nullptr;
    const char* table = nullptr;
    const char* column = nullptr;
    const char* datatype = nullptr;
    const char* constraint = nullptr;
    const char* function_context = nullptr;
};

// A palloc'd copy of prefix followed by s, or fallback when memory runs out. It never raises an
// error: it is called inside catch blocks, which a longjmp must not leave.
const char* copy_text(const char* s, const char* prefix, const char* fallback)
{
    const size_t plen = strlen(prefix);
    const size_t len = strnlen(s, MaxAllocSize - 1 - plen);
    auto* copy = static_cast<char*>(palloc_extended(plen + len + 1, MCXT_ALLOC_NO_OOM));
    if (copy == nullptr)
        return fallback;
    memcpy(copy, prefix, plen);
    memcpy(copy + plen, s, len);
    copy[plen + len] = '\0';
    return copy;
}

const char* message_copy(const char* s, const char* prefix = "")
{
    return copy_text(s, prefix, "out of memory in ai_scale");
}

// A copy of an optional text (detail, hint, object name): nullptr when empty or out of memory.
const char* copy_or_null(const std::string& s)
{
    return s.empty() ? nullptr : copy_text(s.c_str(), "", nullptr);
}

// The context the frames outside add to an error raised here, read from one raised and caught
// (Postgres gives it no other way); null under exit_on_error (there any error ends the session)
// or where an error would be more than one (in a critical section, while exiting).
const char* outer_context()
{
    if (ExitOnAnyError || proc_exit_inprogress || CritSectionCount > 0)
        return nullptr;
    MemoryContext cxt = CurrentMemoryContext;
    const detail::try_stacks outer;
    const char* volatile context = nullptr;
    PG_TRY();
    {
        ereport(ERROR, (errmsg_internal("ai_scale: the frames outside")));
    }
    PG_CATCH();
    {
        outer.restore_holdoffs();
        context = detail::capture_error(cxt)->context;
    }
    PG_END_TRY();
    return context;
}

// The function lines of a caught error's context that the frames outside this call will not
// add again when invoke raises it: palloc'd, null when none.
const char* inner_function_lines(const char* caught)
{
    if (caught == nullptr)
        return nullptr;
    const char* outer = outer_context();
    try {
        return copy_or_null(without_outer(caught, function_lines(outer ? outer : "")));
    } catch (const std::bad_alloc&) {
        return caught;
    }
}

bool batch_noted = false;
bool xact_callback_registered = false;

void at_xact_end(XactEvent event, void*)
{
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE)
        release_batch_memory();
}
} // namespace

void note_batch(size_t elements, size_t bytes)
{
    if (elements < large_batch && bytes < large_batch_bytes)
        return;
    if (!xact_callback_registered) {
        call([] { RegisterXactCallback(at_xact_end, nullptr); });
        xact_callback_registered = true;
    }
    batch_noted = true;
}

void release_batch_memory()
{
    if (!batch_noted)
        return;
    batch_noted = false;
    malloc_trim(0);
}

Datum invoke(PGFunction body, FunctionCallInfo fcinfo)
{
    pending_error pending;
    try {
        return body(fcinfo);
    } catch (const error& e) {
        pending.sqlstate = e.sqlstate();
        pending.message = message_copy(e.what());
        pending.detail = copy_or_null(e.detail());
        pending.hint = copy_or_null(e.hint());
        if (const auto* pe = dynamic_cast<const postgres_error*>(&e)) {
            pending.schema = copy_or_null(pe->names.schema);
            pending.table = copy_or_null(pe->names.table);
            pending.column = copy_or_null(pe->names.column);
            pending.datatype = copy_or_null(pe->names.datatype);
            pending.constraint = copy_or_null(pe->names.constraint);
            pending.function_context = copy_or_null(pe->function_context);
        }
    } catch (const std::bad_alloc&) {
        pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
        pending.message = "out of memory in ai_scale";
    } catch (const std::exception& e) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        pending.message = message_copy(e.what(), "internal error in ai_scale: ");
    } catch (...) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        pending.message = "internal error in ai_scale: unknown C++ exception";
    }
    // The handler has ended, and the exception object with it: from here an error may jump.
    pending.function_context = inner_function_lines(pending.function_context);
    ereport(
        ERROR,
        (errcode(pending.sqlstate), errmsg_internal("%s", pending.message),
         pending.detail ? errdetail_internal("%s", pending.detail) : 0,
         pending.hint ? errhint("%s", pending.hint) : 0,
         pending.schema ? err_generic_string(PG_DIAG_SCHEMA_NAME, pending.schema) : 0,
         pending.table ? err_generic_string(PG_DIAG_TABLE_NAME, pending.table) : 0,
         pending.column ? err_generic_string(PG_DIAG_COLUMN_NAME, pending.column) : 0,
         pending.datatype ? err_generic_string(PG_DIAG_DATATYPE_NAME, pending.datatype) : 0,
         pending.constraint ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, pending.constraint) : 0,
         // Before the callbacks of the frames outside add theirs: innermost first.
         pending.function_context ? errcontext_msg("%s", pending.function_context) : 0));
    pg_unreachable();
}

namespace detail {

ErrorData* capture_error(MemoryContext caller_cxt)
{
    MemoryContextSwitchTo(caller_cxt);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    return edata;
}

void throw_postgres_error(ErrorData* edata)
{
    postgres_error e(edata->sqlerrcode, edata->message ? edata->message : "unknown error",
                     edata->detail ? edata->detail : "", edata->hint ? edata->hint : "");
    auto text = [](const char* s) { return std::string(s ? s : ""); };
    e.names = {text(edata->schema_name), text(edata->table_name), text(edata->column_name),
               text(edata->datatype_name), text(edata->constraint_name)};
    e.function_context = function_lines(text(edata->context));
    FreeErrorData(edata);
    throw e;
}

} // namespace detail

} // namespace ai_scale::pg
