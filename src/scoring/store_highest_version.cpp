// ai_scale._store_highest_version(store, model, as_owner): the highest model_version of a model
// in one prediction store, for the first registration of a name (_store_last_version asks first
// whether and as whom the store may be read). A store range-partitioned on one column
// (created_at, as create_prediction_store makes it) is read a window of partitions at a time,
// each window's query in a subtransaction rolled back once its value is read: one query over
// the whole store planned and locked every partition and its indexes until the registration
// committed (three locks a partition of a prediction store), seconds at thousands of partitions
// and "out of shared memory" past what the lock table holds (6,005 partitions at the default
// max_locks_per_transaction). Rolled back, not released: a subtransaction that commits hands
// its locks on to the transaction. C style inside: Postgres errors longjmp through the reads.
#include "partition/owner_scope.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

using namespace ai_scale;

namespace {

// Each bound ends a partition or starts one after a gap, so a window spans at most this many
// partitions (and the default one): about 200 locks at a time for a prediction store, however
// many it has, and few windows (137 for a year of hourly partitions).
constexpr int bounds_per_window = 64;

struct highest_read {
    Oid store;
    Datum model; // text
    bool found;
    int32 highest;
};

// The store's name, as a query names it; an error when the store is gone.
const char* store_name(Oid store)
{
    const char* name = get_rel_name(store);
    const char* nsp = get_namespace_name(get_rel_namespace(store));
    if (name == nullptr || nsp == nullptr)
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_TABLE),
                 errmsg("the prediction store with OID %u was dropped while it was read", store)));
    return quote_qualified_identifier(nsp, name);
}

// The store's partition key, where the windows can be cut on it: one column, ranges in its
// type's default order (a query comparing the column with a bound then prunes at plan time,
// locking only the window's partitions); its finite bounds in order. key is nullptr otherwise.
// ge and lt are that order's operators, named with their schema (OPERATOR(s.>=)): looked up by
// name under the pinned search_path, a key of an extension's type (ltree) had none, and one of
// citext was compared as text, which prunes nothing. key is the column, cast to its base type
// where it is a domain's: an operator is then matched exactly, not only by coercing the
// domain, a lookup the owner of the operators' schema could win with an operator of its own
// on the domain (the check refused it, and every first registration on the store failed).
struct range_key {
    const char* key;
    const char* ge;
    const char* lt;
    Oid ge_op;
    Oid lt_op;
    Oid type;
    bool nullable;
    int n;
    Datum* bounds;
};

// OPERATOR(schema.name) of an operator.
const char* operator_text(Oid op)
{
    HeapTuple tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(op));
    if (!HeapTupleIsValid(tuple))
        elog(ERROR, "cache lookup failed for operator %u", op);
    const auto* form = reinterpret_cast<Form_pg_operator>(GETSTRUCT(tuple));
    StringInfoData s;
    initStringInfo(&s);
    appendStringInfo(&s, "OPERATOR(%s.%s)",
                     quote_identifier(get_namespace_name(form->oprnamespace)),
                     NameStr(form->oprname));
    ReleaseSysCache(tuple);
    return s.data;
}

range_key range_key_of(Relation rel)
{
    range_key k{};
    if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
        return k;
    PartitionKey key = RelationGetPartitionKey(rel);
    if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 || key->partattrs[0] == 0)
        return k;
    Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), key->partattrs[0] - 1);
    const Oid default_class = GetDefaultOpClass(att->atttypid, BTREE_AM_OID);
    if (default_class == InvalidOid || key->partopfamily[0] != get_opclass_family(default_class) ||
        key->partcollation[0] != att->attcollation)
        return k;
    const Oid family = key->partopfamily[0], type = key->partopcintype[0];
    const Oid ge = get_opfamily_member(family, type, type, BTGreaterEqualStrategyNumber);
    const Oid lt = get_opfamily_member(family, type, type, BTLessStrategyNumber);
    if (ge == InvalidOid || lt == InvalidOid)
        return k;
    PartitionBoundInfo info = RelationGetPartitionDesc(rel, true)->boundinfo;
    const int ndatums = info != nullptr ? info->ndatums : 0;
    // A copy: quote_identifier may return the relation's own name, freed with its entry.
    const char* column = pstrdup(quote_identifier(NameStr(att->attname)));
    k.type = getBaseType(att->atttypid);
    // A cast to a domain's base type is a binary coercion, which pruning looks through.
    k.key = k.type == att->atttypid
                ? column
                : psprintf("CAST(%s AS %s)", column, format_type_be_qualified(k.type));
    k.ge = operator_text(ge);
    k.lt = operator_text(lt);
    k.ge_op = ge;
    k.lt_op = lt;
    // A null key is no range's: such rows are in the default partition, read by a window of
    // their own.
    k.nullable = !att->attnotnull;
    k.bounds = static_cast<Datum*>(palloc(sizeof(Datum) * Max(ndatums, 1)));
    for (int i = 0; i < ndatums; i++)
        if (info->kind[i][0] == PARTITION_RANGE_DATUM_VALUE)
            k.bounds[k.n++] =
                datumCopy(info->datums[i][0], key->parttypbyval[0], key->parttyplen[0]);
    return k;
}

// The highest version of $1 in store, where k's key (when k is given) is null, or at least $2
// (from) and below the next parameter (to). The store named afresh for each window: a schema
// renamed meanwhile takes no lock on its tables.
char* window_query(Oid store, const range_key* k, bool nulls, bool from, bool to)
{
    StringInfoData q;
    initStringInfo(&q);
    // The name matched byte for byte as well, as the L3 lookups match it: under a
    // nondeterministic collation of model_name (case-insensitive, say) the equality alone
    // numbered 'fraud' past the versions of 'Fraud'.
    appendStringInfo(&q,
                     "SELECT max(model_version) FROM %s WHERE model_name = $1 "
                     "AND model_name::pg_catalog.text COLLATE pg_catalog.\"C\" = $1",
                     store_name(store));
    int param = 2;
    if (nulls)
        appendStringInfo(&q, " AND %s IS NULL", k->key);
    if (from)
        appendStringInfo(&q, " AND %s %s $%d", k->key, k->ge, param++);
    if (to)
        appendStringInfo(&q, " AND %s %s $%d", k->key, k->lt, param++);
    return q.data;
}

// Whether node holds anything but what window_query writes with key (a range_key, or null for
// the one query): columns, parameters, constants, binary coercions, collations, AND, IS NULL,
// the model name's equality, the key's order operators and max() of an integer type.
bool unexpected_node(Node* node, void* key)
{
    if (node == nullptr)
        return false;
    const auto* k = static_cast<const range_key*>(key);
    switch (nodeTag(node)) {
    case T_Var:
    case T_Param:
    case T_Const:
        return false;
    case T_RelabelType:
    case T_CollateExpr:
    case T_NullTest:
    case T_List:
    case T_TargetEntry:
        break;
    case T_BoolExpr:
        if (castNode(BoolExpr, node)->boolop != AND_EXPR)
            return true;
        break;
    case T_OpExpr: {
        const Oid op = castNode(OpExpr, node)->opno;
        if (op != TextEqualOperator && (k == nullptr || (op != k->ge_op && op != k->lt_op)))
            return true;
        break;
    }
    case T_Aggref: {
        const Oid agg = castNode(Aggref, node)->aggfnoid;
        if (agg != F_MAX_INT2 && agg != F_MAX_INT4 && agg != F_MAX_INT8)
            return true;
        break;
    }
    default:
        return true;
    }
    // Postgres 15 declares the walker without parameters (as in partition/owner_code.cpp).
    const auto walker = reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(unexpected_node));
    return expression_tree_walker(node, walker, key);
}

// Whether plan, parsed and rewritten, is the query window_query wrote on the table store and
// nothing else. Names are resolved when they are parsed, and renaming a schema locks none of
// its tables: with the store's schema, or the schema of the key's operators, renamed meanwhile
// and a table, a view or an operator of another role's put under the old name, a query planned
// and run as the store's owner ran that role's code with the owner's rights (a superuser's,
// often). Checked after parsing, which runs no such code, before planning and running.
bool is_expected(SPIPlanPtr plan, Oid store, const range_key* k)
{
    List* sources = SPI_plan_get_plan_sources(plan);
    if (list_length(sources) != 1)
        return false;
    const auto* source = static_cast<CachedPlanSource*>(linitial(sources));
    if (list_length(source->query_list) != 1)
        return false;
    Query* q = linitial_node(Query, source->query_list);
    if (q->commandType != CMD_SELECT || q->hasSubLinks || q->cteList != NIL ||
        q->setOperations != nullptr || q->groupClause != NIL || q->havingQual != nullptr ||
        q->hasWindowFuncs || q->hasTargetSRFs || list_length(q->rtable) != 1)
        return false;
    const auto* rte = linitial_node(RangeTblEntry, q->rtable);
    if (rte->rtekind != RTE_RELATION || rte->relid != store || rte->securityQuals != NIL)
        return false;
    auto* key = const_cast<range_key*>(k);
    return !unexpected_node(reinterpret_cast<Node*>(q->targetList), key) &&
           !unexpected_node(q->jointree->quals, key);
}

// Runs query, written by window_query with k, on r->store with its nargs parameters, and keeps
// its value in r when it is the highest yet.
void note_highest(highest_read* r, const char* query, const range_key* k, int nargs, Oid* types,
                  Datum* values)
{
    SPI_connect();
    // Planned when run, with the parameters' values (a custom plan, pruned by them).
    SPIPlanPtr plan = SPI_prepare_cursor(query, nargs, types, CURSOR_OPT_CUSTOM_PLAN);
    if (plan == nullptr)
        elog(ERROR, "ai_scale: preparing the read of the store's highest version failed: %s",
             SPI_result_code_string(SPI_result));
    if (!is_expected(plan, r->store, k))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the prediction store was renamed while its versions were read"),
                        errdetail("Its name, or its key's operators' names, no longer name the "
                                  "store and its key's operators."),
                        errhint("Register the model again.")));
    // Read-only: under the snapshot read_highest pushed, the same for every window, so that
    // together they see the store as one query would.
    const int rc = SPI_execute_plan(plan, values, nullptr, true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
        elog(ERROR, "ai_scale: reading the store's highest version failed: %s",
             SPI_result_code_string(rc));
    const Oid type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
    if (type != INT2OID && type != INT4OID && type != INT8OID)
        ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                        errmsg("the store's model_version column is not of an integer type")));
    bool isnull;
    const Datum v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (!isnull) {
        // A version past the highest an int may be (a bigint column's) leaves no number to
        // give: read as that highest, register_model says so (2200H).
        const int64 version = type == INT2OID   ? int64(DatumGetInt16(v))
                              : type == INT4OID ? int64(DatumGetInt32(v))
                                                : DatumGetInt64(v);
        const int32 seen = int32(Max(Min(version, int64(PG_INT32_MAX)), int64(PG_INT32_MIN)));
        if (!r->found || seen > r->highest) {
            r->highest = seen;
            r->found = true;
        }
    }
    SPI_finish();
}

// note_highest in a subtransaction rolled back after it, which lets go of the locks the window's
// query took on its partitions and their indexes.
void note_highest_in_window(highest_read* r, const char* query, const range_key* k, int nargs,
                            Oid* types, Datum* values)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    BeginInternalSubTransaction(nullptr);
    PG_TRY();
    {
        note_highest(r, query, k, nargs, types, values);
    }
    PG_CATCH();
    {
        // Ended before the error goes on: a caller catching it (the exception block of
        // _store_last_version) rolls back the subtransaction it is in, not this one.
        MemoryContextSwitchTo(caller);
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
        ReThrowError(edata);
    }
    PG_END_TRY();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
}

// As whoever runs it (the store's owner, or the caller): the highest version of r->model in
// r->store, into r.
void read_highest(void* arg)
{
    auto* r = static_cast<highest_read*>(arg);
    // Asked before the store is locked: a role that may not read it does not queue for it.
    const AclResult acl = pg_class_aclcheck(r->store, GetUserId(), ACL_SELECT);
    if (acl != ACLCHECK_OK)
        aclcheck_error(acl, OBJECT_TABLE, get_rel_name(r->store));
    // The store itself stays locked until the registration ends, as the one query locked it.
    Relation rel = try_relation_open(r->store, AccessShareLock);
    if (rel == nullptr)
        return; // dropped since: no version in it
    // Read as whoever reads the rows: building the partition key folds the constant parts of
    // its expressions, code of the owner's.
    const range_key k = range_key_of(rel);
    relation_close(rel, NoLock);

    Oid types[3] = {TEXTOID, k.type, k.type};
    Datum values[3] = {r->model, Datum(0), Datum(0)};
    PushActiveSnapshot(GetTransactionSnapshot());
    if (k.key == nullptr || k.n <= bounds_per_window) {
        // Not partitioned so, or few bounds: one query (windows would cost more than the locks
        // they let go of).
        note_highest(r, window_query(r->store, nullptr, false, false, false), nullptr, 1, types,
                     values);
    } else {
        // Every value of the key is in one window: below the lowest bound, from each bound
        // cut at to the next, from the last one up, and null. A window's query planned with
        // its bounds as constants (a custom plan) keeps only the partitions (the default
        // one included) whose ranges meet its own.
        values[1] = k.bounds[0];
        note_highest_in_window(r, window_query(r->store, &k, false, false, true), &k, 2, types,
                               values);
        for (int i = 0; i < k.n; i += bounds_per_window) {
            const bool to = i + bounds_per_window < k.n;
            values[1] = k.bounds[i];
            values[2] = to ? k.bounds[i + bounds_per_window] : Datum(0);
            note_highest_in_window(r, window_query(r->store, &k, false, true, to), &k, to ? 3 : 2,
                                   types, values);
        }
        if (k.nullable)
            note_highest_in_window(r, window_query(r->store, &k, true, false, false), &k, 1, types,
                                   values);
    }
    PopActiveSnapshot();
}

} // namespace

// _store_highest_version(store regclass, model text, as_owner boolean) -> int: the highest
// version of model in store, null when it has none; read as the store's owner (for a caller
// with the owner's rights: 42501 otherwise), in a security-restricted operation, or as the
// caller, with row_security off either way.
AI_SCALE_FUNCTION(ai_scale_store_highest_version)
{
    highest_read r{PG_GETARG_OID(0), PG_GETARG_DATUM(1), false, 0};
    if (PG_GETARG_BOOL(2))
        partition::in_owner_scope(partition::require_acting_owner(r.store, true), read_highest, &r);
    else
        pg::call([&] { read_highest(&r); });
    if (!r.found)
        PG_RETURN_NULL();
    PG_RETURN_INT32(r.highest);
}
