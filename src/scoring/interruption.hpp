// Long steps of pure C++ (parsing a model's JSON, importing an XGBoost dump, compiling its
// trees) call interruption_point() as they go. The extension sets interruption_hook to a
// function that runs Postgres's CHECK_FOR_INTERRUPTS and throws a pending cancel or
// statement_timeout as a C++ exception (src/ai_scale.cpp), so it lands within milliseconds,
// not when a 36 MB model is done. Without a hook (unit tests, fuzzers, the GPU harness) it does
// nothing.
#pragma once

namespace ai_scale::scoring {

inline void (*interruption_hook)() = nullptr;

inline void interruption_point()
{
    if (interruption_hook != nullptr)
        interruption_hook();
}

} // namespace ai_scale::scoring
