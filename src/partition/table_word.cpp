#include "partition/table_word.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/lsyscache.h"
}

namespace ai_scale::partition {

const char* table_word(Oid rel)
{
    switch (get_rel_relkind(rel)) {
    case '\0':
        return nullptr;
    case RELKIND_FOREIGN_TABLE:
        return "FOREIGN TABLE";
    default:
        return "TABLE";
    }
}

} // namespace ai_scale::partition
