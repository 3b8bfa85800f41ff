// The unsent mark of a generation slot (generations.cpp): whether the slot was bumped here
// without Redis, and whether a backend is sending that bump now. Pure C++, on one atomic word.
//
// A take (unsent or sending -> sending) stamps the word with a number of its own, and the clear
// once Redis took the bumps (sending -> sent) clears only that take's stamp. With a plain
// three-state mark, X took it, a bump made without Redis marked it again, Z took it, and X's
// clear cleared Z's take: when Z then ended without sending it (the FATAL of a shutdown or a
// pg_terminate_backend while it waited for Redis, which runs no C++ handler), the bump was
// lost from memory and from the file carried across a restart, which skips slots marked sent.
#pragma once

#include <atomic>
#include <cstdint>

namespace ai_scale::cache::unsent_mark {

using word = uint32_t;

// The state in the low two bits; the number of the last take above them.
enum state : word { sent = 0, unsent = 1, sending = 2 };

inline state state_of(word w)
{
    return static_cast<state>(w & 3);
}

// Marks the slot unsent, keeping the number of the last take; true when it was sent before (not
// marked, nor being sent).
bool mark(std::atomic<word>& m);

// For a caller about to send the slot's bumps to Redis: 0 when the slot is not marked;
// otherwise the mark is now sending, stamped with a new number, and the stamp is returned, for
// taken(). The mark stays until then: a caller that ends before leaves it to the next one.
word take(std::atomic<word>& m);

// Clears the take whose stamp is given, once Redis took the bumps: sent, unless the slot was
// marked, or taken by another caller, since.
void taken(std::atomic<word>& m, word stamp);

} // namespace ai_scale::cache::unsent_mark
