// Connecting to a Redis on the same host through its Unix-domain socket (redis.conf's
// `unixsocket`), within a deadline and cancellably, as the TCP connect of redis_client.cpp is:
// the socket is non-blocking, so a connect never waits in the kernel, and when Redis's listen
// queue is full (the connect answers EAGAIN; a Unix socket has no connect in progress to wait
// for) it is tried again every few milliseconds until the deadline, calling the hook at every
// wake.
#pragma once

#include <chrono>
#include <string>

namespace ai_scale::cache {

// A connected, non-blocking socket to path (at most max_socket_path bytes), or throws
// redis_failure: "connect: " and the error (no such file, no Redis listening on it, no
// permission), or a timeout once the deadline passed. hook, when set, is called before the
// first try and at every wake, and may throw (a query cancel).
int connect_unix_socket(const std::string& path, std::chrono::steady_clock::time_point deadline,
                        void (*hook)());

} // namespace ai_scale::cache
