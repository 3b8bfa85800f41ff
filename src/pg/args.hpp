// Arguments and datums of variable length, detoasted under pg::call: detoasting can fail (out of
// memory, a damaged value), and that error must not jump past the C++ objects that the frames
// above own (guard.hpp). A body that holds none yet may use PG_GETARG_*_P itself.
#pragma once

#include "pg/guard.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/jsonb.h"
}

namespace ai_scale::pg {

// A text or jsonb that is neither compressed nor out of line is used where it lies, as
// PG_GETARG_TEXT_PP would: no PG_TRY is entered for it (one for the model's name at every row
// took 1.4% of a score() scan).
inline text* text_arg(FunctionCallInfo fcinfo, int argno)
{
    struct varlena* v = reinterpret_cast<struct varlena*>(PG_GETARG_POINTER(argno));
    if (!VARATT_IS_COMPRESSED(v) && !VARATT_IS_EXTERNAL(v))
        return v;
    return call([&] { return PG_GETARG_TEXT_PP(argno); });
}

// PG_GETARG_JSONB_P also copies a value with a short header into one with a 4-byte header.
inline Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int argno)
{
    struct varlena* v = reinterpret_cast<struct varlena*>(PG_GETARG_POINTER(argno));
    if (VARATT_IS_4B_U(v))
        return reinterpret_cast<Jsonb*>(v);
    return call([&] { return PG_GETARG_JSONB_P(argno); });
}

inline ArrayType* array_arg(FunctionCallInfo fcinfo, int argno)
{
    return call([&] { return PG_GETARG_ARRAYTYPE_P(argno); });
}

inline text* text_of(Datum d)
{
    return call([&] { return DatumGetTextPP(d); });
}

// The elements of a jsonb[] argument of one dimension ("inputs" of cache_get_many,
// score_batch and predict_batch), as deconstruct_array gives them; 2202E for more dimensions.
struct jsonb_elements {
    Datum* elems;
    bool* nulls;
    int n;
    // The array's first subscript: an answer keeps it, and errors name elements by it.
    int lower;
};

inline jsonb_elements jsonb_array_arg(FunctionCallInfo fcinfo, int argno)
{
    ArrayType* arr = array_arg(fcinfo, argno);
    if (ARR_NDIM(arr) > 1)
        throw error(ERRCODE_ARRAY_SUBSCRIPT_ERROR, "inputs must be a one-dimensional array");
    jsonb_elements in;
    in.lower = ARR_NDIM(arr) == 1 ? ARR_LBOUND(arr)[0] : 1;
    call([&] {
        deconstruct_array(arr, JSONBOID, -1, false, TYPALIGN_INT, &in.elems, &in.nulls, &in.n);
    });
    return in;
}

} // namespace ai_scale::pg
