// Checks, at compile time, that pg/jsonb_layout.hpp restates Postgres's own jsonb constants.
#include "pg/jsonb_layout.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace L = ai_scale::pg::jsonb_layout;
static_assert(L::count_mask == JB_CMASK && L::flag_scalar == JB_FSCALAR &&
              L::flag_object == JB_FOBJECT && L::flag_array == JB_FARRAY);
static_assert(L::offlen_mask == JENTRY_OFFLENMASK && L::type_mask == JENTRY_TYPEMASK &&
              L::has_off == JENTRY_HAS_OFF);
static_assert(L::is_string == JENTRY_ISSTRING && L::is_numeric == JENTRY_ISNUMERIC &&
              L::is_false == JENTRY_ISBOOL_FALSE && L::is_true == JENTRY_ISBOOL_TRUE &&
              L::is_null == JENTRY_ISNULL && L::is_container == JENTRY_ISCONTAINER);
static_assert(L::int_align == ALIGNOF_INT);
#ifdef WORDS_BIGENDIAN
#error "pg/jsonb_layout.hpp reads varlena headers as a little-endian machine lays them out"
#endif
