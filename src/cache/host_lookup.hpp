// Looking up a Redis endpoint's host name within a deadline. getaddrinfo() takes as long as the
// resolver does (5 s per try and name server in glibc, more when DNS is unreachable), ignoring
// Postgres's interrupts: called in the request path, it held a query far past
// ai_scale.redis_timeout_ms and past statement_timeout and pg_cancel_backend(). A name is
// therefore looked up on a helper thread (all signals blocked; it calls nothing but
// getaddrinfo) while the backend waits in poll(), calling the wait hook at every wake. A lookup
// still running when the wait ends is left to finish, and the next request for that name takes
// its answer: there is at most one thread per name (two while a name dropped from the settings
// and named again is still being looked up). A numeric address needs no lookup.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/socket.h>

namespace ai_scale::cache {

struct socket_address {
    sockaddr_storage address;
    socklen_t length;
};

// The addresses of host (IPv4 ones first, as hiredis preferred them) with port, or throws
// redis_failure when the name does not resolve or the deadline passed first. hook, when set, is
// called at every wake and may throw (a query cancel).
std::vector<socket_address> lookup_host(const std::string& host, int port,
                                        std::chrono::steady_clock::time_point deadline,
                                        void (*hook)());

// Forgets the lookups left running for host names not in hosts (names no longer configured):
// their threads free them when the resolver answers. Kept, each held the two ends of its pipe
// until a request for its name, which for a name no longer used never came.
void forget_lookups_except(const std::vector<std::string>& hosts);

} // namespace ai_scale::cache
