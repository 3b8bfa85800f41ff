// The fuzzers' assertion: a broken invariant aborts, which libFuzzer reports as a crash and
// keeps the input that caused it.
#pragma once

#include <cstdlib>

inline void check(bool ok)
{
    if (!ok)
        std::abort();
}
