// ai_scale._as_owner(rel, statement) and _as_owner_rows(rel, query): maintenance of a managed
// table (all of it: its queries, its DDL, moving rows out of its default partition) runs as the
// table's owner, in a security-restricted operation, as Postgres runs VACUUM, ANALYZE and index
// builds. It fires the table's triggers and rules and evaluates its CHECK constraints, domains,
// generated columns and index expressions (planning a query on the table, or copying its index
// definitions, folds their constant parts): code of the owner's, which must not run with the
// rights of whoever runs maintenance (the worker's superuser, often). A SET ROLE would not do:
// under it, the owner's code could RESET ROLE back to the session's superuser; a
// security-restricted operation refuses that, and the GUC level opened here undoes any setting
// that code changes. register_model reads a prediction store in the same scope
// (scoring/store_highest_version.cpp). The code on the tables under the table (a partition's
// triggers, its index predicates) is its own owner's, and runs as the table's owner just the
// same: so they must all belong to roles that may act as the owner, and so must their triggers'
// functions (SECURITY DEFINER or not), what the triggers' WHEN conditions use, and the tables
// whose foreign keys reference them, over which a DETACH plans a query (require_acting_owner),
// or a role left owning a partition, given TRIGGER on one, or REFERENCES on the table, made
// itself a superuser through the worker. No such role may even hold TRIGGER on a table there:
// each check of what a trigger runs was in turn found to miss a way.
#include "partition/owner_scope.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_default_acl.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/partition.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "catalog/dependency.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "funcapi.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <utility>
#include <vector>

using namespace ai_scale;

Oid partition::owner_of(Oid rel)
{
    return pg::call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
        if (!HeapTupleIsValid(tuple))
            return InvalidOid;
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

namespace {

// The trees found trusted, as (rel, owner): a maintenance run asks at each step it takes as the
// owner, and the walk of 1,000 partitions took 0.3 ms a time, where a run with nothing to do
// takes about 1.5 ms. Forgotten at any change of a table (a partition made or attached, an
// owner changed, a trigger made), of a function (its owner, SECURITY DEFINER), of a role (made
// superuser or not), of a role's memberships or of the database (its owner, pg_database_owner's
// one member: a tree of pg_database_owner's stayed trusted after ALTER DATABASE ... OWNER TO).
std::vector<std::pair<Oid, Oid>> trusted_trees;
uint64_t trust_changes = 0; // counted by the callbacks
bool trust_callbacks_registered = false;
constexpr size_t trusted_trees_bound = 64;

void forget_trusted_trees(Datum, int, uint32)
{
    trusted_trees.clear();
    trust_changes++;
}

void forget_trusted_trees_of(Datum, Oid)
{
    trusted_trees.clear();
    trust_changes++;
}

// Whether code of role, run with the rights of owner, gives role nothing it does not have: role
// is owner, a superuser, or a member of owner, with its rights or not (a NOINHERIT member, or
// one through a NOINHERIT role, may SET ROLE to owner: is_member_of_role, where
// has_privs_of_role refused a tree whose code could do nothing its owners could not do
// already); pg_database_owner for the database's owner, its one member.
bool acts_as(Oid role, Oid owner)
{
    if (role == ROLE_PG_DATABASE_OWNER && role != owner) {
        HeapTuple tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
        if (!HeapTupleIsValid(tuple))
            return false;
        role = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple))->datdba;
        ReleaseSysCache(tuple);
    }
    return role == owner || is_member_of_role(role, owner);
}

// visit(table, its pg_class row) for rel and each table under it, level by level as
// find_all_inheritors lists them, until visit returns false. (Read without locks: a table
// dropped meanwhile is passed over.) Within pg::call: it raises Postgres errors.
template <typename Visit> void walk_tree(Oid rel, Visit visit)
{
    List* tree = find_all_inheritors(rel, NoLock, nullptr);
    ListCell* cell;
    foreach (cell, tree) {
        const Oid table = lfirst_oid(cell);
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
        if (!HeapTupleIsValid(tuple))
            continue;
        const bool more = visit(table, tuple);
        ReleaseSysCache(tuple);
        if (!more)
            break;
    }
    list_free(tree);
}

// What a walk of the tree under rel finds (untrusted_descendants).
constexpr size_t max_listed = 5;

struct tree_walk {
    // The tables whose owners lack the rights of owner (the default partition first, the others
    // level by level, as find_all_inheritors lists them), at most max_listed of them, and how
    // many there are.
    std::vector<Oid> untrusted;
    size_t untrusted_count = 0;
    // The tables with triggers.
    List* with_triggers = NIL;
    // The first table granting TRIGGER to a role without the owner's rights (PUBLIC included),
    // one made before this transaction if any, that role and who granted it; how many tables
    // made before this transaction do, and how many made in it (partitions this run made, which
    // an error rolls back: only the default privileges that gave them the grant are to revoke).
    Oid granted_table = InvalidOid;
    Oid grantee = InvalidOid;
    Oid grantor = InvalidOid;
    size_t granted_count = 0;
    size_t granted_new = 0;
};

// Whether a role without the rights of owner holds TRIGGER on a table (its pg_class row): the
// first such role in *grantee, ACL_ID_PUBLIC (InvalidOid) for PUBLIC, and who granted it in
// *grantor.
bool trigger_granted_beyond(HeapTuple rel, Oid owner, Oid* grantee, Oid* grantor)
{
    bool isnull = true;
    const Datum datum = SysCacheGetAttr(RELOID, rel, Anum_pg_class_relacl, &isnull);
    if (isnull)
        return false;
    Acl* acl = DatumGetAclP(datum);
    const AclItem* items = ACL_DAT(acl);
    bool found = false;
    for (int i = 0; i < ACL_NUM(acl) && !found; i++) {
        const Oid role = items[i].ai_grantee;
        if ((ACLITEM_GET_PRIVS(items[i]) & ACL_TRIGGER) == 0 ||
            (role != ACL_ID_PUBLIC && acts_as(role, owner)))
            continue;
        found = true;
        *grantee = role;
        *grantor = items[i].ai_grantor;
    }
    if (reinterpret_cast<Pointer>(acl) != DatumGetPointer(datum))
        pfree(acl);
    return found;
}

// Whether table was made in this transaction (one this run made, which an error rolls back).
bool made_in_this_transaction(Oid table)
{
    Relation rel = RelationIdGetRelation(table);
    if (rel == nullptr)
        return false;
    const bool made = rel->rd_createSubid != InvalidSubTransactionId;
    RelationClose(rel);
    return made;
}

// Walks the tables under rel.
// grants: whether to look for TRIGGER granted (not for reads only).
tree_walk untrusted_descendants(Oid rel, Oid owner, bool grants)
{
    tree_walk walk;
    // (Reserved here: within the call, which no C++ exception may leave, it never allocates.)
    walk.untrusted.reserve(max_listed);
    pg::call([&] {
        const Oid default_partition = get_rel_relkind(rel) == RELKIND_PARTITIONED_TABLE
                                          ? get_default_partition_oid(rel)
                                          : InvalidOid;
        walk_tree(rel, [&](Oid table, HeapTuple tuple) {
            const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
            if (grants) {
                Oid grantee = InvalidOid;
                Oid grantor = InvalidOid;
                if (trigger_granted_beyond(tuple, owner, &grantee, &grantor)) {
                    const bool made_now = made_in_this_transaction(table);
                    // (The first of those made before, else the first made now.)
                    if ((!made_now && walk.granted_count == 0) ||
                        (walk.granted_count == 0 && walk.granted_new == 0)) {
                        walk.granted_table = table;
                        walk.grantee = grantee;
                        walk.grantor = grantor;
                    }
                    (made_now ? walk.granted_new : walk.granted_count)++;
                }
            }
            if (form->relhastriggers)
                walk.with_triggers = lappend_oid(walk.with_triggers, table);
            if (acts_as(form->relowner, owner))
                return true;
            walk.untrusted_count++;
            std::vector<Oid>& listed = walk.untrusted;
            if (table == default_partition) {
                // (first: it holds the rows a rescue moves, and is read at every run)
                if (listed.size() == max_listed)
                    listed.pop_back();
                listed.insert(listed.begin(), table);
            } else if (listed.size() < max_listed) {
                listed.push_back(table);
            }
            return true;
        });
    });
    return walk;
}

// What makes a trigger untrusted: its function; a function its WHEN condition calls (itself or
// through an operator, or a domain's CHECK), or a domain it casts to (object, of class
// object_class), of a role without the owner's rights (when_condition), or a function there
// that is not IMMUTABLE (when_not_immutable); or, for a foreign key's internal trigger, the
// table at the key's other end (object, of class pg_class), over which checking the key plans a
// query.
enum class trigger_fault { function, when_condition, when_not_immutable, key_table };

struct found_trigger {
    NameData name;
    Oid table = InvalidOid;
    Oid function = InvalidOid;
    Oid function_owner = InvalidOid;
    trigger_fault fault = trigger_fault::function;
    Oid object_class = InvalidOid;
    Oid object = InvalidOid;
    Oid object_owner = InvalidOid;
};

// The owner of a function; InvalidOid for one gone.
Oid proc_owner(Oid function)
{
    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
    if (!HeapTupleIsValid(tuple))
        return InvalidOid;
    const Oid role = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple))->proowner;
    ReleaseSysCache(tuple);
    return role;
}

// What a trigger's WHEN condition (or a domain's CHECK it casts to) may use: only IMMUTABLE
// functions of roles with the rights of owner, and domains of such roles. The condition runs
// with the rights of whoever writes the table, so as the owner in maintenance, and any role with
// TRIGGER on the table may write one: with a built-in that runs SQL (query_to_xml), or one of a
// superuser's that acts on its arguments (lo_export), it ran the role's SQL as a superuser; with
// an operator of the owner's whose function was the role's, or a cast to the role's domain,
// that role's function. The expression itself is walked: Postgres records no dependency on a
// built-in in pg_depend. The first fault goes to *found.
struct when_walk {
    Oid owner;
    found_trigger* found;
    List* domains; // those walked already (a chain of domains' CHECKs may even be a cycle)
};

bool when_refuses(Oid object_class, Oid object, Oid role, trigger_fault fault, when_walk* w)
{
    w->found->fault = fault;
    w->found->object_class = object_class;
    w->found->object = object;
    w->found->object_owner = role;
    return true;
}

bool when_function_refused(Oid function, void* context)
{
    auto* w = static_cast<when_walk*>(context);
    const Oid role = proc_owner(function);
    if (!OidIsValid(role))
        return false;
    if (!acts_as(role, w->owner))
        return when_refuses(ProcedureRelationId, function, role, trigger_fault::when_condition, w);
    if (func_volatile(function) != PROVOLATILE_IMMUTABLE)
        return when_refuses(ProcedureRelationId, function, role, trigger_fault::when_not_immutable,
                            w);
    return false;
}

bool when_walker(Node* node, void* context);

// A domain and those it is over: each of a role with the rights of owner, each CHECK of theirs
// as a WHEN condition (a cast to the domain evaluates them all).
bool domain_refused(Oid type, when_walk* w)
{
    bool refused = false;
    while (!refused && OidIsValid(type) && !list_member_oid(w->domains, type)) {
        HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
        if (!HeapTupleIsValid(tuple))
            break;
        const auto* form = reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple));
        const bool domain = form->typtype == TYPTYPE_DOMAIN;
        const Oid role = form->typowner;
        const Oid base = form->typbasetype;
        ReleaseSysCache(tuple);
        if (!domain)
            break;
        w->domains = lappend_oid(w->domains, type);
        if (!acts_as(role, w->owner)) {
            refused = when_refuses(TypeRelationId, type, role, trigger_fault::when_condition, w);
            break;
        }
        Relation constraints = table_open(ConstraintRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(type));
        SysScanDesc scan =
            systable_beginscan(constraints, ConstraintTypidIndexId, true, nullptr, 1, &key);
        HeapTuple constraint;
        while (!refused && HeapTupleIsValid(constraint = systable_getnext(scan))) {
            bool isnull = true;
            const Datum bin = heap_getattr(constraint, Anum_pg_constraint_conbin,
                                           RelationGetDescr(constraints), &isnull);
            if (!isnull)
                refused =
                    when_walker(static_cast<Node*>(stringToNode(TextDatumGetCString(bin))), w);
        }
        systable_endscan(scan);
        table_close(constraints, AccessShareLock);
        type = base;
    }
    return refused;
}

bool when_walker(Node* node, void* context)
{
    if (node == nullptr)
        return false;
    auto* w = static_cast<when_walk*>(context);
    if (check_functions_in_node(node, when_function_refused, context))
        return true;
    if (IsA(node, CoerceToDomain) && domain_refused(castNode(CoerceToDomain, node)->resulttype, w))
        return true;
    // (Postgres 15 declares the walker without parameters: cast through void (*)().)
    const auto walker = reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(when_walker));
    return expression_tree_walker(node, walker, context);
}

// Whether the WHEN condition of a trigger (its pg_trigger row) uses what when_walker refuses.
bool untrusted_when_object(HeapTuple trigger, TupleDesc desc, Oid owner, found_trigger* found)
{
    bool isnull = true;
    const Datum qual = heap_getattr(trigger, Anum_pg_trigger_tgqual, desc, &isnull);
    if (isnull)
        return false;
    when_walk w{owner, found, NIL};
    const bool refused =
        when_walker(static_cast<Node*>(stringToNode(TextDatumGetCString(qual))), &w);
    list_free(w.domains);
    return refused;
}

// For an internal trigger of a foreign key on table: the table at the key's other end, or one
// under it, when it belongs to a role without the rights of owner. Checking the key as the owner
// plans a query over that table, folding the constant parts of its index expressions,
// partial-index predicates and statistics expressions, code of its owner's: a DETACH of a
// partition the key references (retention), over the referencing table, whose owner needs only
// REFERENCES on the managed table to make the key; an ATTACH of a partition (a rescue's) that
// holds the key, over the referenced table, which its owner may index as it likes. False when
// none. *trusted_seen: the tables already found trusted in this walk (a key on a partitioned
// table has triggers on each of its partitions: 2,000 walks of the same tree at 1,000).
bool untrusted_key_table(Oid constraint, Oid table, Oid owner, found_trigger* found,
                         List** trusted_seen)
{
    HeapTuple tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
    if (!HeapTupleIsValid(tuple))
        return false;
    const auto* con = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
    Oid other = InvalidOid;
    if (con->contype == CONSTRAINT_FOREIGN)
        other = con->confrelid == table ? con->conrelid
                                        : (con->conrelid == table ? con->confrelid : InvalidOid);
    ReleaseSysCache(tuple);
    if (!OidIsValid(other) || list_member_oid(*trusted_seen, other))
        return false;
    bool untrusted = false;
    walk_tree(other, [&](Oid rel, HeapTuple tuple) {
        const Oid role = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        if (acts_as(role, owner))
            return true;
        untrusted = true;
        found->fault = trigger_fault::key_table;
        found->object_class = RelationRelationId;
        found->object = rel;
        found->object_owner = role;
        return false;
    });
    if (!untrusted)
        *trusted_seen = lappend_oid(*trusted_seen, other);
    return untrusted;
}

// A trigger under rel (on rel or a table under it) whose function belongs to a role without the
// rights of owner (SECURITY DEFINER or not: the role may make it SECURITY INVOKER, which runs it
// with the rights of whoever writes the table, between the check and the trigger's firing), or
// whose WHEN condition uses an object of such a role, or a foreign key's trigger there whose
// referencing table is such a role's: a role with TRIGGER on the table (GRANT ALL gives it) ran its
// code so as the owner through a rescue, an application role whose tables were given to a superuser
// replaced its trigger function's body, and a role with REFERENCES had a DETACH plan over its
// table. Of the triggers of tables (those of the tree with triggers: an index scan of pg_trigger a
// table, 2.7 ms at 1,000 partitions when it was every table), the first one found (its name, table,
// function and what is wrong with it) in *first, and how many there are, 0 where none.
// visit(trigger, pg_trigger's tuple descriptor) for each trigger of the tables, by an index scan
// of pg_trigger a table. Within pg::call: it raises Postgres errors.
template <typename Visit> void walk_triggers(List* tables, Visit visit)
{
    Relation triggers = table_open(TriggerRelationId, AccessShareLock);
    ListCell* cell;
    foreach (cell, tables) {
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(lfirst_oid(cell)));
        SysScanDesc scan =
            systable_beginscan(triggers, TriggerRelidNameIndexId, true, nullptr, 1, &key);
        HeapTuple tuple;
        while (HeapTupleIsValid(tuple = systable_getnext(scan)))
            visit(tuple, RelationGetDescr(triggers));
        systable_endscan(scan);
    }
    table_close(triggers, AccessShareLock);
}

size_t untrusted_triggers(List* tables, Oid owner, found_trigger* first)
{
    return pg::call([&] {
        size_t total = 0;
        List* trusted_key_tables = NIL;
        walk_triggers(tables, [&](HeapTuple tuple, TupleDesc desc) {
            const auto* trigger = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
            found_trigger found;
            bool trusted = true;
            // (A disabled trigger fires in no session; only the table's owner may enable it,
            // which the verdict is asked again after. A foreign key's are looked at whatever
            // their state: a DETACH plans over the referencing table all the same.)
            if (!trigger->tgisinternal && trigger->tgenabled == TRIGGER_DISABLED)
                return;
            if (trigger->tgisinternal) {
                trusted = !OidIsValid(trigger->tgconstraint) ||
                          !untrusted_key_table(trigger->tgconstraint, trigger->tgrelid, owner,
                                               &found, &trusted_key_tables);
            } else {
                HeapTuple proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(trigger->tgfoid));
                if (!HeapTupleIsValid(proc))
                    return;
                const auto* form = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc));
                found.function_owner = form->proowner;
                // (SECURITY DEFINER or not: its owner may make it SECURITY INVOKER again
                // between this check and the trigger's firing.)
                trusted = acts_as(form->proowner, owner);
                ReleaseSysCache(proc);
                if (trusted)
                    trusted = !untrusted_when_object(tuple, desc, owner, &found);
            }
            if (trusted)
                return;
            if (total++ == 0) {
                *first = found;
                first->name = trigger->tgname;
                first->table = trigger->tgrelid;
                first->function = trigger->tgfoid;
            }
        });
        list_free(trusted_key_tables);
        return total;
    });
}

const char* role_name(Oid role)
{
    return pg::call([&] { return quote_identifier(GetUserNameFromId(role, false)); });
}

const char* relation_name(Oid rel)
{
    return pg::call(
        [&] { return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel))); });
}

const char* object_name(Oid object_class, Oid object)
{
    return pg::call([&] {
        const ObjectAddress address{object_class, object, 0};
        return getObjectDescription(&address, false);
    });
}

[[noreturn]] void refuse_when_condition(Oid rel, Oid owner, const found_trigger& trigger,
                                        size_t count)
{
    const std::string trigger_name =
        pg::call([&] { return quote_identifier(NameStr(trigger.name)); });
    const std::string object = object_name(trigger.object_class, trigger.object);
    const bool volatile_function = trigger.fault == trigger_fault::when_not_immutable;
    throw pg::error(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "the WHEN condition of trigger " + trigger_name + " on table " +
            relation_name(trigger.table) + " uses " + object +
            (volatile_function
                 ? std::string(", which is not IMMUTABLE")
                 : std::string(" of role ") + role_name(trigger.object_owner) +
                       ", a role without the rights of the owner of table " + relation_name(rel)),
        "ai_scale maintains a table as its owner, and a trigger's WHEN condition, which any role "
        "with TRIGGER on the table may write, runs with the rights of whoever writes the table: "
        "it may use only IMMUTABLE functions, and objects of roles with the owner's rights; " +
            std::to_string(count) + (count == 1 ? " trigger" : " triggers") + " under the table " +
            (count == 1 ? "does" : "do") + " not.",
        volatile_function
            ? std::string("Drop the trigger, or write its condition with IMMUTABLE functions only "
                          "(a test such as pg_trigger_depth() = 0 can move into the trigger "
                          "function's body).")
            : std::string("Drop the trigger, or give what its condition uses to the table's "
                          "owner (") +
                  role_name(owner) + ").");
}

[[noreturn]] void refuse_key_table(Oid rel, Oid owner, const found_trigger& trigger, size_t count)
{
    const std::string other = relation_name(trigger.object);
    throw pg::error(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "table " + other + " of role " + role_name(trigger.object_owner) +
            ", a role without the rights of the owner of table " + relation_name(rel) +
            ", is joined by a foreign key to table " + relation_name(trigger.table),
        "ai_scale maintains a table as its owner, and checking a foreign key (detaching a "
        "partition it references, attaching one that holds it) plans a query over the table at "
        "its other end, running the code of its index expressions and predicates; " +
            std::to_string(count) +
            (count == 1 ? " foreign key trigger" : " foreign key triggers") + " under the table " +
            (count == 1 ? "leads" : "lead") + " to tables of roles without them.",
        "Drop the foreign key, or give the other table (and every table under it) to the "
        "table's owner: ALTER TABLE " +
            other + " OWNER TO " + role_name(owner) + ";");
}

[[noreturn]] void refuse_trigger(Oid rel, Oid owner, const found_trigger& trigger, size_t count)
{
    if (trigger.fault == trigger_fault::when_condition ||
        trigger.fault == trigger_fault::when_not_immutable)
        refuse_when_condition(rel, owner, trigger, count);
    if (trigger.fault == trigger_fault::key_table)
        refuse_key_table(rel, owner, trigger, count);
    const std::string owner_name = role_name(owner);
    const char* function = pg::call([&] {
        return DatumGetCString(
            DirectFunctionCall1(regprocedureout, ObjectIdGetDatum(trigger.function)));
    });
    const std::string function_name = function;
    const std::string trigger_name =
        pg::call([&] { return quote_identifier(NameStr(trigger.name)); });
    throw pg::error(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "trigger " + trigger_name + " on table " + relation_name(trigger.table) +
            " runs function " + function_name + " of role " + role_name(trigger.function_owner) +
            ", a role without the rights of the owner of table " + relation_name(rel),
        "ai_scale maintains a table as its owner, and a trigger runs its function with the rights "
        "of whoever writes the table; " +
            std::to_string(count) + (count == 1 ? " trigger" : " triggers") + " under the table " +
            (count == 1 ? "runs a function" : "run functions") + " of roles without them.",
        "Drop the trigger, or give its function to the table's owner: ALTER FUNCTION " +
            function_name + " OWNER TO " + owner_name +
            "; what the function reaches (the tables it writes, their triggers) runs with the "
            "owner's rights too.");
}

// The ALTER DEFAULT PRIVILEGES statements that take TRIGGER on new tables in schema nsp away
// from grantee (ACL_ID_PUBLIC for PUBLIC) where owner's default privileges give it (for that
// schema, or for every schema): each partition ai_scale makes gets it from them. Empty if none.
std::string default_trigger_revokes(Oid owner, Oid nsp, Oid grantee, const std::string& owner_name,
                                    const std::string& grantee_name)
{
    std::vector<Oid> schemas; // (reserved: no allocation within the call)
    schemas.reserve(2);
    pg::call([&] {
        Relation defaults = table_open(DefaultAclRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_default_acl_defaclrole, BTEqualStrategyNumber, F_OIDEQ,
                    ObjectIdGetDatum(owner));
        SysScanDesc scan =
            systable_beginscan(defaults, DefaultAclRoleNspObjIndexId, true, nullptr, 1, &key);
        HeapTuple tuple;
        while (schemas.size() < 2 && HeapTupleIsValid(tuple = systable_getnext(scan))) {
            const auto* form = reinterpret_cast<Form_pg_default_acl>(GETSTRUCT(tuple));
            if (form->defaclobjtype != DEFACLOBJ_RELATION ||
                (OidIsValid(form->defaclnamespace) && form->defaclnamespace != nsp))
                continue;
            bool isnull = true;
            const Datum datum = heap_getattr(tuple, Anum_pg_default_acl_defaclacl,
                                             RelationGetDescr(defaults), &isnull);
            if (isnull)
                continue;
            const Acl* acl = DatumGetAclP(datum);
            const AclItem* items = ACL_DAT(acl);
            for (int i = 0; i < ACL_NUM(acl); i++) {
                if (items[i].ai_grantee == grantee &&
                    (ACLITEM_GET_PRIVS(items[i]) & ACL_TRIGGER) != 0) {
                    schemas.push_back(form->defaclnamespace);
                    break;
                }
            }
        }
        systable_endscan(scan);
        table_close(defaults, AccessShareLock);
    });
    std::string statements;
    for (Oid schema : schemas) {
        const std::string in_schema =
            OidIsValid(schema)
                ? " IN SCHEMA " + std::string(pg::call([&] {
                      // (a schema dropped meanwhile: by its OID)
                      const char* name = get_namespace_name(schema);
                      return name != nullptr ? quote_identifier(name) : psprintf("%u", schema);
                  }))
                : std::string();
        statements += (statements.empty() ? "" : " and ") +
                      std::string("ALTER DEFAULT PRIVILEGES FOR ROLE ") + owner_name + in_schema +
                      " REVOKE TRIGGER ON TABLES FROM " + grantee_name;
    }
    return statements;
}

// How many triggers that are not a foreign key's stand on the tables (those of a tree with
// triggers).
size_t user_triggers(List* tables)
{
    return pg::call([&] {
        size_t total = 0;
        walk_triggers(tables, [&](HeapTuple tuple, TupleDesc) {
            total += reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple))->tgisinternal ? 0 : 1;
        });
        return total;
    });
}

// A tree on which a role without the owner's rights holds TRIGGER. Such a role may put any
// trigger function it may execute there (the built-ins included, with arguments of its
// choosing, and a WHEN condition), to run with the rights of whoever writes the table: as the
// owner in maintenance, often a superuser, or a role with a superuser's rights without being
// one (a member of one). Three reviews in turn found one more way through the checks of what a
// trigger runs (its WHEN condition, a SECURITY DEFINER function, a foreign key's other end): a
// table is maintained only where no such role may make one at all.
[[noreturn]] void refuse_trigger_grant(Oid rel, Oid owner, const tree_walk& walk)
{
    const std::string table = relation_name(walk.granted_table);
    const std::string grantee =
        walk.grantee == ACL_ID_PUBLIC ? std::string("PUBLIC") : role_name(walk.grantee);
    const std::string owner_name = role_name(owner);
    const size_t count = walk.granted_count + walk.granted_new;
    const char* parent = relation_name(rel);
    const std::string parent_literal = pg::call([&] { return quote_literal_cstr(parent); });
    // The REVOKE. A grant a member of the owner made, given the grant option, the owner's
    // REVOKE would leave (and Postgres 15 lets no one else name its grantor): the grant option
    // revoked from that member, CASCADE, takes it. CASCADE too for a grantee given the grant
    // option that passed it on.
    const std::string revoke = walk.grantor == owner
                                   ? "REVOKE TRIGGER ON " + table + " FROM " + grantee + " CASCADE"
                                   : "REVOKE GRANT OPTION FOR TRIGGER ON " + table + " FROM " +
                                         role_name(walk.grantor) + " CASCADE";
    const std::string others =
        walk.granted_count <= 1
            ? std::string()
            : ", and on the " + std::to_string(walk.granted_count - 1) +
                  (walk.granted_count == 2 ? " other table under it that grants it"
                                           : " other tables under it that grant it") +
                  " (SELECT ai_scale.reapply_privileges(" + parent_literal +
                  ") gives the partitions the parent's grants)";
    // (The partitions ai_scale makes get the owner's default privileges: name them too. A
    // partition made in this transaction is rolled back with it: only those are to revoke.)
    const Oid nsp = pg::call([&] { return get_rel_namespace(walk.granted_table); });
    const std::string defaults =
        default_trigger_revokes(owner, nsp, walk.grantee, owner_name, grantee);
    std::string cure;
    if (walk.granted_count > 0 || defaults.empty())
        cure = "Revoke it with " + revoke + others + ".";
    if (!defaults.empty())
        cure += std::string(cure.empty() ? "" : " ") +
                "Each partition made gets it from the owner's default privileges: " + defaults +
                ".";
    // (A trigger the role made stays after the REVOKE, checked for whose function and WHEN
    // condition it has, not for who made it or with what arguments: say so where there are any.)
    const size_t standing = user_triggers(walk.with_triggers);
    const std::string review =
        standing == 0
            ? std::string(" Triggers made while the grant stood would stay, and be checked as any "
                          "other.")
            : " Then review the " + std::to_string(standing) +
                  (standing == 1 ? " trigger" : " triggers") +
                  " under it, which stay, checked for whose function and WHEN condition they "
                  "have but not for who made them: SELECT tgrelid::regclass, "
                  "pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                  "(SELECT relid FROM pg_partition_tree(" +
                  parent_literal + "));";
    const std::string where =
        walk.granted_table == rel ? "table " + table : "partition " + table + " of table " + parent;
    throw pg::error(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        (walk.grantee == ACL_ID_PUBLIC ? std::string("PUBLIC") : "role " + grantee) +
            " holds TRIGGER on " + where + ", and lacks the rights of the table's owner " +
            owner_name,
        "ai_scale maintains a table as its owner, and a trigger runs with the rights of whoever "
        "writes the table, with the function, arguments and WHEN condition its maker chose: a "
        "table is maintained only where no role without the owner's rights may make triggers "
        "under it; " +
            std::to_string(count) + (count == 1 ? " table" : " tables") + " under it " +
            (count == 1 ? "grants" : "grant") + " TRIGGER to such roles.",
        cure + review);
}

} // namespace

Oid partition::require_owner_rights(Oid rel)
{
    const Oid owner = owner_of(rel);
    if (owner == InvalidOid)
        throw pg::error(ERRCODE_UNDEFINED_TABLE,
                        "relation with OID " + std::to_string(rel) + " does not exist");
    const bool allowed = pg::call([&] { return has_privs_of_role(GetUserId(), owner); });
    if (!allowed) {
        // Named as the SQL functions' errors name them (rel::regclass, owner::regrole, under
        // the extension's search path): the table schema-qualified, both quoted where needed.
        // get_rel_name gave the bare name, unquoted, and "?" for a table just dropped.
        const char* rel_name = relation_name(rel);
        const char* owner_name = role_name(owner);
        throw pg::error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                        std::string("permission denied to act as the owner of table ") + rel_name,
                        std::string("Only the table's owner (") + owner_name +
                            "), its members and superusers may.");
    }
    return owner;
}

Oid partition::require_acting_owner(Oid rel, bool reads_only)
{
    // (A change another session committed since this transaction last took invalidations in,
    // an owner given to a partition, say, is taken in first: the verdict kept, and the catalog
    // read, were of before it.)
    pg::call([] { AcceptInvalidationMessages(); });
    const Oid owner = require_owner_rights(rel);
    const std::pair<Oid, Oid> tree{rel, owner};
    if (std::find(trusted_trees.begin(), trusted_trees.end(), tree) != trusted_trees.end())
        return owner;
    if (!trust_callbacks_registered) {
        pg::call([] {
            CacheRegisterSyscacheCallback(RELOID, forget_trusted_trees, 0);
            CacheRegisterSyscacheCallback(AUTHOID, forget_trusted_trees, 0);
            CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, forget_trusted_trees, 0);
            CacheRegisterSyscacheCallback(PROCOID, forget_trusted_trees, 0);
            // (The database's owner is who has the rights of pg_database_owner.)
            CacheRegisterSyscacheCallback(DATABASEOID, forget_trusted_trees, 0);
            CacheRegisterSyscacheCallback(OPEROID, forget_trusted_trees, 0);
            CacheRegisterSyscacheCallback(TYPEOID, forget_trusted_trees, 0);
            CacheRegisterRelcacheCallback(forget_trusted_trees_of, 0);
        });
        trust_callbacks_registered = true;
    }
    const uint64_t changes_before = trust_changes;
    tree_walk walk = untrusted_descendants(rel, owner, !reads_only);
    if (walk.untrusted.empty() && reads_only)
        return owner; // (not kept: the triggers were not looked at)
    if (walk.untrusted.empty()) {
        if (walk.granted_count + walk.granted_new > 0)
            refuse_trigger_grant(rel, owner, walk);
        found_trigger trigger;
        if (const size_t triggers = untrusted_triggers(walk.with_triggers, owner, &trigger);
            triggers > 0)
            refuse_trigger(rel, owner, trigger, triggers);
        // Kept only if no change was taken in during the walk.
        if (trust_changes == changes_before) {
            if (trusted_trees.size() >= trusted_trees_bound)
                trusted_trees.clear();
            trusted_trees.push_back(tree);
        }
        return owner;
    }
    // As _require_owner_partitions words the other way round (an owner without the rights of a
    // partition's owner), whose refusal this one comes before.
    const std::string rel_name = relation_name(rel);
    const std::string owner_name = role_name(owner);
    const std::vector<Oid>& untrusted = walk.untrusted;
    const size_t count = walk.untrusted_count;
    const std::string first_owner = role_name(owner_of(untrusted[0]));
    std::string alters;
    for (Oid table : untrusted)
        alters += std::string(alters.empty() ? "" : " ") + "ALTER TABLE " + relation_name(table) +
                  " OWNER TO " + owner_name + ";";
    throw pg::error(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "partition " + std::string(relation_name(untrusted[0])) + " of table " + rel_name +
            " belongs to " + first_owner + ", a role without the rights of the table's owner " +
            owner_name,
        "ai_scale maintains a table as its owner, and so runs the code of its partitions (their "
        "triggers, their index expressions) with the owner's rights; " +
            std::to_string(count) + (count == 1 ? " partition" : " partitions") + " of the table " +
            (count == 1 ? "belongs" : "belong") + " to roles without them.",
        std::string("Give ") + (count == 1 ? "it" : "them") + " to the table's owner: " + alters +
            (count > max_listed ? " (the first five of " + std::to_string(count) + ")" : ""));
}

void partition::in_owner_scope(Oid owner, void (*body)(void* arg), void* arg)
{
    pg::call([&] {
        Oid saved_user;
        int saved_context;
        GetUserIdAndSecContext(&saved_user, &saved_context);
        const int level = NewGUCNestLevel();
        PG_TRY();
        {
            SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                              SECURITY_RESTRICTED_OPERATION);
            set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
            set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                              true, 0, false);
            body(arg);
        }
        PG_CATCH();
        {
            // The (sub)transaction's abort undoes the GUC level and SPI; the identity is put
            // back now, before anything else runs.
            SetUserIdAndSecContext(saved_user, saved_context);
            PG_RE_THROW();
        }
        PG_END_TRY();
        AtEOXact_GUC(false, level);
        SetUserIdAndSecContext(saved_user, saved_context);
    });
}

namespace {

struct statement_run {
    const char* statement;
    Tuplestorestate* store;
    TupleDesc desc;
    uint64 rows;
};

// Runs run->statement through SPI; puts its rows into run->store when one is given (they must
// have the types of run->desc).
void run_statement(void* arg)
{
    auto* run = static_cast<statement_run*>(arg);
    SPI_connect();
    const int rc = SPI_execute(run->statement, false, 0);
    // The two a caller's statement can make SPI refuse: not an internal error (XX000).
    // Each message whole, not built from pieces (Postgres's rule for translatable messages).
    if (rc == SPI_ERROR_COPY)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("COPY to or from the client cannot run as the owner of a table")));
    if (rc == SPI_ERROR_TRANSACTION)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("a transaction control statement cannot run as the owner of a "
                               "table")));
    if (rc < 0)
        elog(ERROR, "ai_scale: statement failed: %s", SPI_result_code_string(rc));
    run->rows = SPI_processed;
    if (run->store != nullptr) {
        TupleDesc got = SPI_tuptable != nullptr ? SPI_tuptable->tupdesc : nullptr;
        bool same = got != nullptr && got->natts == run->desc->natts;
        for (int i = 0; same && i < run->desc->natts; i++)
            same = TupleDescAttr(got, i)->atttypid == TupleDescAttr(run->desc, i)->atttypid;
        if (!same)
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                            errmsg("the statement's rows do not have the columns asked for")));
        for (uint64 i = 0; i < run->rows; i++)
            tuplestore_puttuple(run->store, SPI_tuptable->vals[i]);
    }
    SPI_finish();
}

// Runs statement as owner (in_owner_scope); puts its rows into store when one is given.
// Returns the rows it processed.
uint64 run_as(Oid owner, const char* statement, Tuplestorestate* store, TupleDesc desc)
{
    statement_run run{statement, store, desc, 0};
    partition::in_owner_scope(owner, run_statement, &run);
    return run.rows;
}

const char* statement_arg(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "relation and statement must not be null");
    return pg::call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(1)); });
}

} // namespace

// _as_owner(rel regclass, statement text) -> bigint: runs statement (one SQL statement, without
// parameters) as the owner of rel (run_as); returns the rows it processed.
AI_SCALE_FUNCTION(ai_scale_partition_as_owner)
{
    const char* statement = statement_arg(fcinfo);
    const Oid owner = partition::require_acting_owner(PG_GETARG_OID(0));
    PG_RETURN_INT64(int64(run_as(owner, statement, nullptr, nullptr)));
}

// _require_acting_owner(rel regclass) -> void: the check of _as_owner alone (42501), asked again
// once a step holds its locks, before a statement that the run's own check came too early for.
AI_SCALE_FUNCTION(ai_scale_partition_require_acting_owner)
{
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "relation must not be null");
    (void)partition::require_acting_owner(PG_GETARG_OID(0));
    PG_RETURN_VOID();
}

// _as_owner_rows(rel regclass, query text) -> setof record: the same for a query, returning its
// rows (the caller names their columns: AS t(...)). Maintenance runs a table's whole _maintain
// this way: even planning a query on the table, or copying its index definitions, evaluates
// the constant parts of its index expressions, code of the owner's.
AI_SCALE_FUNCTION(ai_scale_partition_as_owner_rows)
{
    const char* query = statement_arg(fcinfo);
    const Oid owner = partition::require_acting_owner(PG_GETARG_OID(0));
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    pg::call([&] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
    run_as(owner, query, rsinfo->setResult, rsinfo->setDesc);
    return Datum(0);
}
