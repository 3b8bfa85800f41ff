#include "cache/invalidation_at_commit.hpp"
#include "cache/generations.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
}

#include <set>

namespace ai_scale::cache {

namespace {

// The slots this transaction invalidated, each once.
std::set<uint32_t> slots;
// Whether the transaction had written when it began to commit (decided at pre-commit, while
// its transaction id is still there to ask for).
bool wrote = false;
bool callback_registered = false;

// After the commit: never throws. A failed bump (Redis down, with cache_strict) is a WARNING;
// the invalidation made at the call stands.
void bump_all_caught()
{
    pg::first_failure failure;
    for (uint32_t slot : slots) {
        try {
            pg::call([&] { bump_slot(slot); });
        } catch (const std::exception& e) {
            failure.note(e.what());
        } catch (...) {
            failure.note("an unknown C++ exception");
        }
    }
    if (failure.failed)
        ereport(WARNING,
                (errmsg("ai_scale: the invalidations of this transaction were not made again "
                        "at its commit: %s",
                        failure.text),
                 errhint("Call ai_scale.cache_invalidate again now that the transaction has "
                         "committed.")));
}

void at_xact_event(XactEvent event, void*)
{
    if (slots.empty())
        return;
    switch (event) {
    case XACT_EVENT_PRE_COMMIT:
        wrote = TransactionIdIsValid(GetTopTransactionIdIfAny());
        if (wrote) // (a commit that fails after this leaves one bump more: misses only)
            for (uint32_t slot : slots)
                owe_bump(slot);
        return;
    case XACT_EVENT_COMMIT:
        if (wrote)
            bump_all_caught();
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE: // committed later, perhaps by another session: not followed
        break;
    default:
        return;
    }
    slots.clear();
    wrote = false;
}

} // namespace

void bump_again_at_commit(uint32_t slot)
{
    if (!callback_registered) {
        pg::call([] { RegisterXactCallback(at_xact_event, nullptr); });
        callback_registered = true;
    }
    slots.insert(slot);
}

} // namespace ai_scale::cache
