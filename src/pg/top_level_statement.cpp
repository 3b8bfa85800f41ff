// The count of top-level statements (top_level_statement.hpp). A statement is the run of a
// portal the client's protocol made (ActivePortal), counted at its first query (a rule may add
// others to the portal), where no run of the executor or of a utility statement encloses it:
// as pg_stat_statements tells a top-level query from a nested one, by how deep the backend is,
// raised around each run and lowered on the way out, an error's too; and a portal of the
// client's text (debug_query_string). Queries run outside any portal of the client's, as a
// deferred trigger's or foreign key check's at COMMIT (a loop of one over a query too), go on
// with the statement before (counted, each of them waited a timeout of its own: 12 s for 12
// rows at 1000 ms). A portal fetched from again (FETCH, an Execute that goes on with it) goes on
// with the statement that started it, not the one run last, for that run.
#include "pg/top_level_statement.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/portal.h"
}

#include <algorithm>
#include <cstring>
#include <string>
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
// the portal's address, which a later portal may take again (it starts anew then, or is
// counted), with its name, by which the entries of portals gone are told apart and dropped once
// the map has grown past a bound (cleared all at once, a cursor opened before 1,024 others lost
// its statement), the bound then twice what is left (kept at 1,024 while as many cursors were
// open, every statement looked at each: 20,000 cursors declared took 66 s).
struct started {
    std::string name;
    uint64_t statement;
};
std::unordered_map<const void*, started> started_in;
constexpr size_t started_in_bound = 1024;
size_t prune_at = started_in_bound;

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

// The client's own text: the query string of the message being run, as a portal of the
// client's protocol holds it (a copy, through the extended protocol).
bool clients_text(const char* text)
{
    return text != nullptr && debug_query_string != nullptr &&
           (text == debug_query_string || strcmp(text, debug_query_string) == 0);
}

// Whether stmt is the first of the portal being run.
bool starts_active_portal(const void* stmt)
{
    return ActivePortal != nullptr && ActivePortal->stmts != NIL &&
           linitial(ActivePortal->stmts) == stmt;
}

// Whether stmt is the first of the portal being run, a portal of the client's: where a client's
// statement starts. (A cursor's portal opened outside any run, by a deferred trigger's loop at
// COMMIT, holds the trigger's text: counted, each row of it waited a timeout.)
bool first_of_active_portal(const void* stmt)
{
    return starts_active_portal(stmt) && clients_text(ActivePortal->sourceText);
}

// (Called from Postgres's C frames, which no C++ exception may cross: out of memory, the
// portal is not remembered, and a FETCH of it goes on with the statement run last.)
void remember_portal(Portal portal) noexcept
{
    try {
        if (started_in.size() >= prune_at) {
            for (auto it = started_in.begin(); it != started_in.end();) {
                if (GetPortalByName(it->second.name.c_str()) == it->first)
                    ++it;
                else
                    it = started_in.erase(it);
            }
            prune_at = std::max(started_in_bound, 2 * started_in.size());
        }
        // (Assigned in place: a portal at an address used before, as each loop of a function
        // over a query takes again, allocates nothing.)
        started& entry = started_in[portal];
        entry.name.assign(portal->name);
        entry.statement = statement;
    } catch (...) {
        started_in.erase(portal);
    }
}

// A portal fetched from again: the statement it started in goes on, for this run; the one
// before is given back after it (a WITH HOLD cursor kept at COMMIT left the commit's own
// writes under its DECLARE's statement, and the hold of a FETCH there). Told by its address and
// name: a portal never remembered at the address of one closed took that one's statement.
uint64_t resumed(Portal portal)
{
    const auto it = started_in.find(portal);
    return it != started_in.end() && it->second.name == portal->name ? it->second.statement
                                                                     : statement;
}

// A cursor whose query has not run yet: one over an INSERT, UPDATE or DELETE ... RETURNING (or
// a WITH holding one, or a utility statement), which a function opened, runs at its first
// FETCH, where the cursors over a SELECT start their executor, and are remembered, as they are
// opened. Resumed as any other, it took the statement run last, or the statement a closed
// cursor of its name had left at its address, and that one's hold: its puts were skipped while
// Redis answered.
bool unstarted(Portal portal)
{
    return portal->strategy != PORTAL_ONE_SELECT && portal->holdStore == nullptr;
}

// Counts a statement starting in portal (the one being run, or a cursor's first FETCH).
void count_statement(Portal portal) noexcept
{
    statement = ++counted;
    remember_portal(portal);
}

void on_executor_start(QueryDesc* query, int eflags)
{
    if (starts_active_portal(query->plannedstmt)) {
        const bool clients = clients_text(ActivePortal->sourceText);
        if (clients && depth == 0 && depth_known())
            count_statement(ActivePortal);
        else if (clients || depth > 0)
            // A cursor a DECLARE opens (within the DECLARE's run), or a function within a
            // client's statement (a refcursor it returns, an EXECUTE of a DECLARE): the
            // client's FETCHes of it go on with that statement. (Not remembered, a function's
            // took the statement run last, and that one's hold.)
            remember_portal(ActivePortal);
        else
            // Any other (a deferred trigger's cursor at COMMIT) forgets what a portal gone at
            // its address and of its name had left: it took that one's statement, and hold.
            started_in.erase(ActivePortal);
    }
    if (previous_start != nullptr)
        previous_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

void on_executor_run(QueryDesc* query, ScanDirection direction, uint64 count, bool once)
{
    const uint64_t before = statement;
    const bool resuming = depth == 0 && ActivePortal != nullptr && depth_known();
    if (resuming)
        statement = resumed(ActivePortal);
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
        if (resuming)
            statement = before;
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
    const uint64_t before = statement;
    volatile bool resuming = false;
    if (depth == 0 && depth_known()) {
        // A FETCH or MOVE reads on in a cursor: the statement that opened it goes on, for
        // this run.
        if (IsA(pstmt->utilityStmt, FetchStmt)) {
            const char* name = castNode(FetchStmt, pstmt->utilityStmt)->portalname;
            const Portal cursor = name != nullptr ? GetPortalByName(name) : nullptr;
            if (cursor != nullptr) {
                resuming = true;
                if (!unstarted(cursor))
                    statement = resumed(cursor);
                else if (first_of_active_portal(pstmt))
                    // (Its opener is not known: a statement of its own, which its later
                    // FETCHes go on with.)
                    count_statement(cursor);
                else
                    // A FETCH that no statement of the client's runs (a deferred trigger's
                    // EXECUTE 'FETCH ...' at COMMIT, a fast-path call's) goes on with the
                    // statement before, as the rest of that trigger does: counted, each row's
                    // waited a timeout of its own.
                    remember_portal(cursor);
            }
        } else if (first_of_active_portal(pstmt)) {
            // (Not remembered, a portal whose first query is a utility one, such as the
            // NOTIFY a rule puts first, took the statement an earlier portal at its address
            // had left: that one's hold.)
            count_statement(ActivePortal);
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
        if (resuming)
            statement = before;
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
