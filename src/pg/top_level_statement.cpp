// The count of top-level statements (top_level_statement.hpp). As pg_stat_statements tells a
// top-level statement from a nested one: by how deep in the executor and in utility statements
// the backend is, raised around each run and lowered on the way out, an error's too.
#include "pg/top_level_statement.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
}

namespace ai_scale::pg {

namespace {

ExecutorStart_hook_type previous_start = nullptr;
ExecutorRun_hook_type previous_run = nullptr;
ExecutorFinish_hook_type previous_finish = nullptr;
ProcessUtility_hook_type previous_utility = nullptr;

uint64_t statement = 0;
int depth = 0;

// Installed during a statement (loaded without the preload): depth counts the runs entered
// since, not those the statement was in, until the protocol message it came in has ended.
bool depth_unknown = false;
TimestampTz installed_in = 0;

// At the start of a run at depth: counts it when it is a statement of its own.
void starting(bool counts)
{
    if (depth_unknown) {
        if (GetCurrentStatementStartTimestamp() == installed_in)
            return;
        depth_unknown = false;
    }
    if (depth == 0 && counts)
        statement++;
}

void on_executor_start(QueryDesc* query, int eflags)
{
    starting(true);
    if (previous_start != nullptr)
        previous_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

void on_executor_run(QueryDesc* query, ScanDirection direction, uint64 count, bool once)
{
    depth++;
    PG_TRY();
    {
        if (previous_run != nullptr)
            previous_run(query, direction, count, once);
        else
            standard_ExecutorRun(query, direction, count, once);
    }
    PG_FINALLY();
    {
        depth--;
    }
    PG_END_TRY();
}

void on_executor_finish(QueryDesc* query)
{
    depth++;
    PG_TRY();
    {
        if (previous_finish != nullptr)
            previous_finish(query);
        else
            standard_ExecutorFinish(query);
    }
    PG_FINALLY();
    {
        depth--;
    }
    PG_END_TRY();
}

void on_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                DestReceiver* dest, QueryCompletion* qc)
{
    // A FETCH or MOVE reads on in a cursor: the statement that opened it goes on.
    starting(!IsA(pstmt->utilityStmt, FetchStmt));
    depth++;
    PG_TRY();
    {
        if (previous_utility != nullptr)
            previous_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
        else
            standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    }
    PG_FINALLY();
    {
        depth--;
    }
    PG_END_TRY();
}

} // namespace

void install_statement_hooks()
{
    if (!process_shared_preload_libraries_in_progress) {
        depth_unknown = true;
        installed_in = GetCurrentStatementStartTimestamp();
    }
    previous_start = ExecutorStart_hook;
    ExecutorStart_hook = on_executor_start;
    previous_run = ExecutorRun_hook;
    ExecutorRun_hook = on_executor_run;
    previous_finish = ExecutorFinish_hook;
    ExecutorFinish_hook = on_executor_finish;
    previous_utility = ProcessUtility_hook;
    ProcessUtility_hook = on_utility;
}

uint64_t top_level_statement()
{
    return statement;
}

} // namespace ai_scale::pg
