// Arguments and datums of variable length, detoasted under pg::call: detoasting can fail (out of
// memory, a damaged value), and that error must not jump past the C++ objects that the frames
// above own (guard.hpp). A body that holds none yet may use PG_GETARG_*_P itself.
#pragma once

#include "pg/guard.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/jsonb.h"
}

namespace ai_scale::pg {

inline text* text_arg(FunctionCallInfo fcinfo, int argno)
{
    return call([&] { return PG_GETARG_TEXT_PP(argno); });
}

inline Jsonb* jsonb_arg(FunctionCallInfo fcinfo, int argno)
{
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

} // namespace ai_scale::pg
