// The one wait of the Redis client: for a socket (or a host lookup's pipe) to be ready, at most
// until a deadline, waking at least every 100 ms to call a hook that may throw (how a query
// cancel reaches the wait; a signal wakes it too).
#pragma once

#include <chrono>

namespace ai_scale::cache {

// True once fd is ready for events (or has an error the next read or write reports), false when
// the deadline passes first. hook, when set, is called at every wake, first before the first
// poll; a failing poll() throws redis_failure.
bool wait_for_fd(int fd, short events, std::chrono::steady_clock::time_point deadline,
                 void (*hook)());

} // namespace ai_scale::cache
