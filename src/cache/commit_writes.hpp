// What a committing transaction writes to Redis after its commit: the predictions it stored
// (predict/pending_fills) and its invalidations made again (invalidation_at_commit). Each asks
// Redis until one of the commit's writes is not taken (no answer, or a refusal), then makes the
// rest without it (L1 alone; bumps marked for the next sync), so that a commit waits one
// redis_timeout_ms at most for a Redis that holds its writes (paused in a failover), which no
// statement_timeout bounds. Each kept its own account before: a transaction that stored predictions and
// invalidated models waited a timeout for each.
#pragma once

namespace ai_scale::cache {

// Starts each commit asking Redis (registers a transaction callback, once a backend). Called
// before a transaction's commit may ask.
void track_commit_writes();

// Whether this commit's writes so far have had Redis's answer.
bool ask_redis_at_commit();

// One of this commit's writes was not taken (no answer, a refusal, an error): its other
// writes skip Redis.
void redis_unanswered_at_commit();

} // namespace ai_scale::cache
