// Settings pinned for the SQL that a function without SET clauses runs. The per-row functions
// (score, predict, cache_get, ...) carry no such clause because entering and leaving it costs
// more than an L1 hit or a linear score; what they run through SPI, or resolve by name, happens
// inside one of these scopes instead.
#pragma once

namespace ai_scale::pg {

class pinned_settings {
  public:
    // Opens a GUC nest level with search_path = 'pg_catalog, pg_temp', and with what the
    // caller's session may have set against the plans of that SQL put back: plan_cache_mode
    // auto where it forces generic plans, enable_partition_pruning on where it is off, jit off
    // where it is on (pinned_settings.cpp). Create it outside pg::call (a Postgres error jumps
    // over the destructors of a lambda's locals).
    pinned_settings();
    // Closes the level, restoring the caller's settings (also when leaving by exception).
    ~pinned_settings();

    pinned_settings(const pinned_settings&) = delete;
    pinned_settings& operator=(const pinned_settings&) = delete;

  private:
    int level_;
};

} // namespace ai_scale::pg
