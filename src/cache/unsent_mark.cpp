#include "cache/unsent_mark.hpp"

namespace ai_scale::cache::unsent_mark {

namespace {

constexpr word number_unit = 4;

} // namespace

bool mark(std::atomic<word>& m)
{
    // Sequentially consistent, as the recheck's clearing of its flag and its reading of the marks
    // are (generations.cpp).
    word now = m.load(std::memory_order_seq_cst);
    while (!m.compare_exchange_weak(now, (now & ~word(3)) | unsent, std::memory_order_seq_cst))
        ;
    return state_of(now) == sent;
}

word take(std::atomic<word>& m)
{
    word now = m.load(std::memory_order_acquire);
    for (;;) {
        if (state_of(now) == sent)
            return 0;
        // The next number, past the last take's (2^30 takes before one comes round again); never
        // 0 with sending in the low bits.
        const word stamp = ((now & ~word(3)) + number_unit) | sending;
        if (m.compare_exchange_weak(now, stamp, std::memory_order_acq_rel))
            return stamp;
    }
}

void taken(std::atomic<word>& m, word stamp)
{
    word expected = stamp;
    m.compare_exchange_strong(expected, (stamp & ~word(3)) | sent, std::memory_order_acq_rel);
}

} // namespace ai_scale::cache::unsent_mark
