// Name lookups pinned to pg_catalog and pg_temp for the SQL that a function without a SET
// search_path clause runs. The per-row functions (score, predict, cache_get, ...) carry no such
// clause because entering and leaving it costs more than an L1 hit or a linear score; what
// they run through SPI, or resolve by name, happens inside one of these scopes instead.
#pragma once

namespace ai_scale::pg {

class pinned_search_path {
  public:
    // Opens a GUC nest level with search_path = 'pg_catalog, pg_temp'. Create it outside
    // pg::call (a Postgres error jumps over the destructors of a lambda's locals).
    pinned_search_path();
    // Closes the level, restoring the caller's search_path (also when leaving by exception).
    ~pinned_search_path();

    pinned_search_path(const pinned_search_path&) = delete;
    pinned_search_path& operator=(const pinned_search_path&) = delete;

  private:
    int level_;
};

} // namespace ai_scale::pg
