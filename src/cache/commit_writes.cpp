#include "cache/commit_writes.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/xact.h"
}

namespace ai_scale::cache {

namespace {

bool unanswered = false;
bool registered = false;

// Every pre-commit callback runs before any commit callback: the commit's writes start here.
void at_xact_event(XactEvent event, void*)
{
    if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_ABORT)
        unanswered = false;
}

} // namespace

void track_commit_writes()
{
    if (registered)
        return;
    pg::call([] { RegisterXactCallback(at_xact_event, nullptr); });
    registered = true;
}

bool ask_redis_at_commit()
{
    return !unanswered;
}

void redis_unanswered_at_commit()
{
    unanswered = true;
}

} // namespace ai_scale::cache
