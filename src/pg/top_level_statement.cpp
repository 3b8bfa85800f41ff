// The count of top-level statements (top_level_statement.hpp). A statement is the run of a
// portal the client's protocol made (ActivePortal), counted at its first query (a rule may add
// others to the portal), where no run of the executor or of a utility statement encloses it:
// as pg_stat_statements tells a top-level query from a nested one, by how deep the backend is,
// raised around each run and lowered on the way out, an error's too. Queries run outside any
// portal, as a deferred trigger's or foreign key check's at COMMIT, go on with the statement
// before (counted, each of them waited a timeout of its own: 12 s for 12 rows at 1000 ms). A
// portal fetched from again (FETCH, an Execute that goes on with it) goes on with the statement
// that started it, not the one run last.
#include "pg/top_level_statement.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/portal.h"
}

#include <unordered_map>

namespace ai_scale::pg {

namespace {

ExecutorStart_hook_type previous_start = nullptr;
ExecutorRun_hook_type previous_run = nullptr;
ExecutorFinish_hook_type previous_finish = nullptr;
ProcessUtility_hook_type previous_utility = nullptr;

uint64_t counted = 0;   // statements counted so far
uint64_t statement = 0; // the one running
int depth = 0;

// The statement each portal started in: a cursor fetched from later goes on with it. Keyed by
// the portal's address, which a later portal may take again (it starts anew then); forgotten
// all at once past a bound, a portal forgotten then going on with the statement run last.
std::unordered_map<const void*, uint64_t> started_in;
constexpr size_t started_in_bound = 1024;

// Installed during a statement (loaded without the preload): depth counts the runs entered
// since, not those the statement was in, until the protocol message it came in has ended.
bool depth_unknown = false;
TimestampTz installed_in = 0;

bool depth_known()
{
    if (depth_unknown && GetCurrentStatementStartTimestamp() != installed_in)
        depth_unknown = false;
    return !depth_unknown;
}

// Whether stmt is the first of the portal being run: where a client's statement starts.
bool first_of_active_portal(const void* stmt)
{
    return ActivePortal != nullptr && ActivePortal->stmts != NIL &&
           linitial(ActivePortal->stmts) == stmt;
}

void remember_portal(Portal portal)
{
    if (started_in.size() >= started_in_bound)
        started_in.clear();
    started_in[portal] = statement;
}

// A portal fetched from again: the statement it started in goes on.
void resume_portal(Portal portal)
{
    const auto it = started_in.find(portal);
    if (it != started_in.end())
        statement = it->second;
}

void on_executor_start(QueryDesc* query, int eflags)
{
    if (first_of_active_portal(query->plannedstmt)) {
        if (depth == 0 && depth_known())
            statement = ++counted;
        // Also a cursor a DECLARE opens (within the DECLARE's run): its FETCHes go on with it.
        remember_portal(ActivePortal);
    }
    if (previous_start != nullptr)
        previous_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

void on_executor_run(QueryDesc* query, ScanDirection direction, uint64 count, bool once)
{
    if (depth == 0 && ActivePortal != nullptr && depth_known())
        resume_portal(ActivePortal);
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
    if (depth == 0 && depth_known()) {
        // A FETCH or MOVE reads on in a cursor: the statement that opened it goes on.
        if (IsA(pstmt->utilityStmt, FetchStmt)) {
            const char* name = castNode(FetchStmt, pstmt->utilityStmt)->portalname;
            if (name != nullptr)
                resume_portal(GetPortalByName(name));
        } else if (first_of_active_portal(pstmt)) {
            statement = ++counted;
        }
    }
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
