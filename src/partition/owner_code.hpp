// Whether a statement the maintenance worker runs as itself would run code of a table owner's
// (owner_code.cpp).
#pragma once

#include "pg/postgres.hpp"

namespace ai_scale::partition {

// Why ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY of a partition would run its owner's
// code, if it would.
enum class owner_code_in_detach {
    none,
    // A CHECK constraint of the partition calls a function (or an operator's, a cast's, a
    // type's input or output function) that is not built in: the detach folds the constant
    // parts of the partition's CHECK constraints, to see whether one implies the partition
    // constraint.
    check_constraint,
    // A foreign key references the partition: the detach plans a query over the referencing
    // table and the partition to look for referencing rows, and planning folds the constant
    // parts of both tables' index expressions, partial-index predicates and statistics
    // expressions (and builds the referencing table's partition key, when it has one).
    referencing_foreign_key,
    // A table the partition belongs to, through its parent, is partitioned by an expression
    // that calls a function that is not built in: the detach builds the partition constraint,
    // which takes in every ancestor's, and folds the constant parts of their partition keys.
    ancestor_partition_key,
};

// Whether, and why, the concurrent detach of rel would run code of its owner's. The worker runs
// that statement as its own role (it commits inside, and a security-restricted operation cannot
// span a commit): a function the owner declared IMMUTABLE there ran with the worker's rights, a
// superuser's by default. Such a partition is detached or dropped by the run itself, as its
// owner, instead. none when rel does not exist. Postgres calls only, inside pg::call.
owner_code_in_detach detach_runs_owner_code(Oid rel);

} // namespace ai_scale::partition
