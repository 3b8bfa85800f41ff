#include "guc.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ai_scale::guc {

// --- partition maintenance ---

// --- cache ---

// --- scoring ---

int score_batch_rows = 4096;

void define_all()
{
    // --- partition maintenance ---

    // --- cache ---

    // --- scoring ---

    DefineCustomIntVariable("ai_scale.score_batch_rows",
                            "Rows the window function score_batched() gathers per batch.",
                            "Larger batches pay off on the GPU; the window's buffer holds them "
                            "in work_mem.",
                            &score_batch_rows, 4096, 1, 1024 * 1024, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);

    MarkGUCPrefixReserved("ai_scale");
}

} // namespace ai_scale::guc
