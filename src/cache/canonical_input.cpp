#include "cache/canonical_input.hpp"
#include "cache/jsonb_check.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
}

namespace ai_scale::cache {

namespace {

// The input with each number at its minimal scale, in the current memory context. The
// iterator's tokens pushed back in order make the containers anew as jsonb_in makes them: the
// keys come out sorted and unique, so the object keeps their order, and a scalar input stays
// a scalar (rawScalar on its pseudo-array).
Jsonb* rebuilt_minimal(const Jsonb* input)
{
    JsonbIterator* it = JsonbIteratorInit(const_cast<JsonbContainer*>(&input->root));
    JsonbParseState* state = nullptr;
    JsonbValue v;
    JsonbValue* res = nullptr;
    JsonbIteratorToken tok;
    while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
        // A 55 MB input rebuilt for 12-24 s past statement_timeout and cancels.
        CHECK_FOR_INTERRUPTS();
        if ((tok == WJB_ELEM || tok == WJB_VALUE) && v.type == jbvNumeric)
            v.val.numeric = DatumGetNumeric(
                DirectFunctionCall1(numeric_trim_scale, NumericGetDatum(v.val.numeric)));
        const bool scalar =
            tok < WJB_BEGIN_ARRAY || (tok == WJB_BEGIN_ARRAY && v.val.array.rawScalar);
        res = pushJsonbValue(&state, tok, scalar ? &v : nullptr);
    }
    return JsonbValueToJsonb(res);
}

} // namespace

canonical_input::canonical_input(const Jsonb* input)
    : data_(VARDATA_ANY(input)), size_(VARSIZE_ANY_EXHDR(input))
{
    if (jsonb_numbers_minimal(data_, size_))
        return;
    // Rebuilt in a memory context of its own, dropped once the bytes are copied: a
    // predict_batch of many such inputs would otherwise hold several times their size until it
    // returns.
    MemoryContext cxt = pg::call([] {
        return AllocSetContextCreate(CurrentMemoryContext, "ai_scale canonical input",
                                     ALLOCSET_SMALL_SIZES);
    });
    struct dropped {
        MemoryContext cxt;
        ~dropped() { MemoryContextDelete(cxt); }
    } drop{cxt};
    const Jsonb* minimal = pg::call([&] {
        MemoryContext caller = MemoryContextSwitchTo(cxt);
        Jsonb* j = rebuilt_minimal(input);
        MemoryContextSwitchTo(caller);
        return j;
    });
    rebuilt_.assign(VARDATA_ANY(minimal), VARSIZE_ANY_EXHDR(minimal));
    data_ = rebuilt_.data();
    size_ = rebuilt_.size();
}

} // namespace ai_scale::cache
