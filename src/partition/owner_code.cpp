#include "partition/owner_code.hpp"

#include "partition/foreign_keys.hpp"

extern "C" {
#include "access/relation.h"
#include "access/transam.h"
#include "catalog/partition.h"
#include "catalog/pg_partitioned_table.h"
#include "nodes/nodeFuncs.h"
#include "storage/lockdefs.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace ai_scale::partition {

namespace {

// Built in: made by initdb. Extensions' functions count as the owner's code too (an extension
// a role may create, or one whose functions call back into SQL).
bool not_built_in(Oid function, void*)
{
    return function >= FirstNormalObjectId;
}

bool calls_user_code(Node* node, void* context)
{
    if (node == nullptr)
        return false;
    if (check_functions_in_node(node, not_built_in, context))
        return true;
    // Postgres 15 declares the walker without parameters; through void (*)(), the one
    // function type that casts to any other without a warning.
    const auto walker = reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(calls_user_code));
    return expression_tree_walker(node, walker, context);
}

bool check_constraint_calls_user_code(Relation r)
{
    const TupleConstr* constr = RelationGetDescr(r)->constr;
    for (int i = 0; constr != nullptr && i < constr->num_check; i++)
        if (calls_user_code(static_cast<Node*>(stringToNode(constr->check[i].ccbin)), nullptr))
            return true;
    return false;
}

// Whether the partition key of a table rel belongs to (its parent, and theirs) has an
// expression that calls code that is not built in. Read from pg_partitioned_table, not from the
// relation cache, whose build of a key folds those expressions: as this caller.
bool ancestor_key_calls_user_code(Oid rel)
{
    List* ancestors = get_partition_ancestors(rel);
    bool found = false;
    ListCell* cell;
    foreach (cell, ancestors) {
        HeapTuple tuple = SearchSysCache1(PARTRELID, ObjectIdGetDatum(lfirst_oid(cell)));
        if (!HeapTupleIsValid(tuple))
            continue;
        bool isnull;
        const Datum exprs =
            SysCacheGetAttr(PARTRELID, tuple, Anum_pg_partitioned_table_partexprs, &isnull);
        if (!isnull)
            found = calls_user_code(static_cast<Node*>(stringToNode(TextDatumGetCString(exprs))),
                                    nullptr);
        ReleaseSysCache(tuple);
        if (found)
            break;
    }
    list_free(ancestors);
    return found;
}

} // namespace

owner_code_in_detach detach_runs_owner_code(Oid rel)
{
    Relation r = try_relation_open(rel, AccessShareLock);
    if (r == nullptr)
        return owner_code_in_detach::none;
    owner_code_in_detach why = owner_code_in_detach::none;
    if (check_constraint_calls_user_code(r))
        why = owner_code_in_detach::check_constraint;
    else if (OidIsValid(first_referencing_foreign_key(rel)))
        why = owner_code_in_detach::referencing_foreign_key;
    else if (ancestor_key_calls_user_code(rel))
        why = owner_code_in_detach::ancestor_partition_key;
    relation_close(r, AccessShareLock);
    return why;
}

} // namespace ai_scale::partition
