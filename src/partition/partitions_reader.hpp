// A partitioned table opened to read its partitions from the relcache (partitions_reader.cpp),
// by _bounds (bounds.cpp) and _detach_pending (catalog_now.cpp).
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/relcache.h"
}

namespace ai_scale::partition {

// A table opened to read its partitions, and closed keeping the lock taken to the end of the
// transaction, as a query of it does; but only for a role that could query it or lock it: its
// owner (a member of), or one with a privilege on it or on one of its columns (or when this
// transaction held the lock already). For another role the lock lasts the call.
// Kept, any role could hold ACCESS SHARE on any table for as long as it kept a transaction
// open, which LOCK TABLE refuses it: an ALTER TABLE then waited, and every query behind that.
class partitions_reader {
  public:
    // Opens table (rel() is null when it does not exist), deciding whether close() keeps the
    // lock.
    explicit partitions_reader(Oid table);
    Relation rel() const { return rel_; }
    void close();

  private:
    Relation rel_ = nullptr;
    bool keep_lock_ = false;
};

} // namespace ai_scale::partition
