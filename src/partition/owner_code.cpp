#include "partition/owner_code.hpp"

extern "C" {
#include "access/relation.h"
#include "access/transam.h"
#include "nodes/nodeFuncs.h"
#include "storage/lockdefs.h"
#include "utils/rel.h"
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

} // namespace

bool check_constraints_call_user_code(Oid rel)
{
    Relation r = try_relation_open(rel, AccessShareLock);
    if (r == nullptr)
        return false;
    const TupleConstr* constr = RelationGetDescr(r)->constr;
    bool found = false;
    for (int i = 0; constr != nullptr && i < constr->num_check && !found; i++)
        found = calls_user_code(static_cast<Node*>(stringToNode(constr->check[i].ccbin)), nullptr);
    relation_close(r, AccessShareLock);
    return found;
}

} // namespace ai_scale::partition
