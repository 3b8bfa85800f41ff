// The SQL helpers register_model and import_xgboost use (_validate_model, _xgboost_params,
// _version_registered) and the trigger on ai_scale.models (_models_changed) that has every
// backend drop its compiled copies of a changed model.
#include "scoring/catalog.hpp"
#include "scoring/score_sql.hpp"
#include "scoring/heap_trim.hpp"
#include "scoring/xgboost.hpp"

#include "cache/extension_incarnation.hpp"
#include "cache/generations.hpp"
#include "cache/key.hpp"
#include "pg/args.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

#include <string>
#include <vector>

using namespace ai_scale;
using namespace ai_scale::scoring;

namespace {

std::string text_arg(FunctionCallInfo fcinfo, int argno, const char* what)
{
    if (PG_ARGISNULL(argno))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string(what) + " must not be null");
    text* t = pg::text_arg(fcinfo, argno);
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

// The model helpers parse a whole document into a tree many times its size before any limit
// can be checked: only roles that may register models (INSERT on ai_scale.models) run them.
// The error names what was refused, not the helper: register_model's caller never named
// _validate_model ("permission denied for function _validate_model").
void require_register_right()
{
    AclResult acl = pg::call(
        [] { return pg_class_aclcheck(cache::extension_incarnation(), GetUserId(), ACL_INSERT); });
    if (acl != ACLCHECK_OK)
        throw pg::error(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to register models",
                        "Registering models needs INSERT on ai_scale.models.",
                        "Ask the owner of ai_scale.models for the right to register models.");
}

std::string jsonb_text(Datum d)
{
    char* s = pg::call([&] {
        Jsonb* jb = DatumGetJsonbP(d);
        return JsonbToCString(nullptr, &jb->root, int(VARSIZE(jb)));
    });
    std::string out(s);
    pfree(s);
    return out;
}

} // namespace

// _validate_model(kind text, features text[], params jsonb): raises 22023 unless the model
// compiles, 42501 for a role without INSERT on ai_scale.models. register_model calls it
// before writing anything.
AI_SCALE_FUNCTION(ai_scale_validate_model)
{
    trim_after_document trim; // last out: after params' text and tree are freed
    require_register_right();
    std::string kind = text_arg(fcinfo, 0, "kind");
    if (PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "features must not be null");
    if (PG_ARGISNULL(2))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "params must not be null");
    ArrayType* arr = pg::array_arg(fcinfo, 1);
    if (ARR_NDIM(arr) > 1)
        throw pg::error(ERRCODE_ARRAY_SUBSCRIPT_ERROR, "features must be a one-dimensional array");
    Datum* elems;
    bool* nulls;
    int n;
    pg::call([&] { deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n); });
    std::vector<std::string> features;
    for (int i = 0; i < n; i++) {
        if (nulls[i])
            throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                            "feature name " + std::to_string(i + 1) + " is null");
        text* t = pg::text_of(elems[i]);
        features.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
    }
    std::string params = jsonb_text(PG_GETARG_DATUM(2));
    trim.set_bytes(params.size());
    // An unknown kind is not "invalid forest model: unknown model kind "forest"".
    model_kind parsed;
    try {
        parsed = parse_kind(kind);
    } catch (const model_error& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, e.what(), e.detail);
    }
    try {
        compile_model(parsed, features, json::parse(params));
    } catch (const model_error& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        std::string("invalid ") + kind + " model: " + e.what(), e.detail);
    } catch (const json::parse_error& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, std::string("params: ") + e.what());
    }
    PG_RETURN_VOID();
}

// _xgboost_params(model jsonb) -> jsonb {"features": [...], "params": {...}}; raises 22023 for
// a dump it cannot import, as register_model does for invalid params.
AI_SCALE_FUNCTION(ai_scale_xgboost_params)
{
    trim_after_document trim; // last out: after the dump's text and tree are freed
    require_register_right();
    if (PG_ARGISNULL(0))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "the XGBoost model must not be null");
    std::string dump = jsonb_text(PG_GETARG_DATUM(0));
    trim.set_bytes(dump.size());
    xgboost_import imported;
    try {
        imported = import_xgboost(json::parse(dump));
    } catch (const model_error& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE, e.what(), e.detail,
                        "Pass the JSON written by Booster.save_model(\"model.json\").");
    } catch (const json::parse_error& e) {
        throw pg::error(ERRCODE_INVALID_PARAMETER_VALUE,
                        std::string("invalid XGBoost model: ") + e.what());
    }
    // Every tree is imported, as Booster.predict scores; scikit-learn's and R's predict, which
    // the user may have compared with, stop at an early-stopped model's best round, and its
    // scores here differed from theirs with nothing said.
    if (imported.best_iteration >= 0 && imported.best_iteration + 1 < imported.rounds) {
        const long best = imported.best_iteration, rounds = imported.rounds;
        pg::call([&] {
            ereport(NOTICE,
                    (errmsg("the model was trained with early stopping: its best round is %ld of "
                            "%ld, and every round is imported",
                            best + 1, rounds),
                     errdetail("Booster.predict scores with every round, as ai_scale will; the "
                               "predict of scikit-learn and of R stop at the best round."),
                     errhint("To score as they do, import the model cut at its best round: "
                             "booster[:booster.best_iteration + 1].save_model(\"model.json\").")));
        });
    }
    std::string out = "{\"features\":[";
    for (size_t i = 0; i < imported.features.size(); i++) {
        if (i > 0)
            out += ',';
        json::write_string(out, imported.features[i]);
    }
    out += "],\"params\":";
    out += imported.params;
    out += '}';
    Datum result =
        pg::call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(out.c_str())); });
    PG_RETURN_DATUM(result);
}

// Statement trigger on ai_scale.models: every backend drops its compiled copies once the
// change commits (and this one at its next command).
AI_SCALE_FUNCTION(ai_scale_models_changed)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw pg::error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                        "_models_changed must be called as a trigger");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    pg::call([&] { CacheInvalidateRelcache(trig->tg_relation); });
    return PointerGetDatum(nullptr);
}

// _version_registered(model, version): register_model gave this version number to the model.
// Whatever the cache holds under that number becomes unreachable: a registration that was rolled
// back may have filled it (cache fills are not transactional), and its number is given again.
// Only for roles that may register models, as cache_invalidate is for its grantees.
AI_SCALE_FUNCTION(ai_scale_version_registered)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        throw pg::error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "model and version must not be null");
    text* model = PG_GETARG_TEXT_PP(0);
    cache::check_model_name({VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model)});
    int32 version = version_arg(fcinfo, 1);
    require_register_right();
    cache::bump_generation(MyDatabaseId, model, &version);
    PG_RETURN_VOID();
}
