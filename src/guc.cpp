#include "guc.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ai_scale::guc {

// --- partition maintenance ---

// --- cache ---

// --- scoring ---

void define_all()
{
    // --- partition maintenance ---

    // --- cache ---

    // --- scoring ---

    MarkGUCPrefixReserved("ai_scale");
}

} // namespace ai_scale::guc
