// Every ai_scale.* setting, declared in one place (src/guc.cpp) and read through these variables.
#pragma once

namespace ai_scale::guc {

// Defines all GUCs; called once from _PG_init.
void define_all();

// --- partition maintenance ---

// --- cache ---

// --- scoring ---

// Rows score_batched() gathers before scoring them at once.
extern int score_batch_rows;

} // namespace ai_scale::guc
