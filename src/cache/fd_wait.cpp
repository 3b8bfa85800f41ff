#include "cache/fd_wait.hpp"
#include "cache/redis_client.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace ai_scale::cache {

namespace {
constexpr int64_t wake_ms = 100;
}

bool wait_for_fd(int fd, short events, std::chrono::steady_clock::time_point deadline,
                 void (*hook)())
{
    for (;;) {
        if (hook)
            hook();
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, events, 0};
        const int ms = int(std::min<int64_t>((left.count() + 999) / 1000, wake_ms));
        const int n = poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            throw redis_failure(std::string("poll: ") + std::strerror(errno));
    }
}

} // namespace ai_scale::cache
