#include "cache/unix_socket.hpp"
#include "cache/endpoint_address.hpp"
#include "cache/fd_wait.hpp"
#include "cache/redis_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ai_scale::cache {

namespace {

using steady = std::chrono::steady_clock;

// How long a connect refused with a full listen queue waits before the next try.
constexpr std::chrono::milliseconds retry_after{5};

static_assert(sizeof(sockaddr_un::sun_path) > max_socket_path, "a path and its NUL fit");

// The error as the TCP connect words it, with what to check where the socket's permissions
// refused it: Redis makes its socket 0700 for its own user unless redis.conf says otherwise.
[[noreturn]] void connect_failed(int error)
{
    std::string msg = std::string("connect: ") + std::strerror(error);
    if (error == EACCES || error == EPERM)
        msg += " (the server's user needs write permission on the socket: redis.conf's "
               "unixsocketperm)";
    throw redis_failure(msg);
}

struct closer {
    int fd;
    ~closer()
    {
        if (fd >= 0)
            close(fd);
    }
};

} // namespace

int connect_unix_socket(const std::string& path, steady::time_point deadline, void (*hook)())
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        connect_failed(ENAMETOOLONG);
    std::memcpy(address.sun_path, path.data(), path.size());
    const auto length = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + 1);

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw redis_failure(std::string("socket: ") + std::strerror(errno));
    closer guard{fd};
    if (hook)
        hook();
    for (;;) {
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) == 0)
            break;
        const int error = errno;
        if (error == EINTR)
            continue;
        if (error == EINPROGRESS) {
            if (!wait_for_fd(fd, POLLOUT, deadline, hook))
                connect_failed(ETIMEDOUT);
            int result = 0;
            socklen_t len = sizeof result;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &len) != 0)
                result = errno;
            if (result != 0)
                connect_failed(result);
            break;
        }
        if (error != EAGAIN)
            connect_failed(error);
        // The listen queue is full. No descriptor becomes ready when it has room, so the wait
        // is on none (poll ignores a negative one): a pause that still takes a cancel.
        if (!wait_for_fd(-1, 0, std::min(deadline, steady::now() + retry_after), hook) &&
            steady::now() >= deadline)
            connect_failed(ETIMEDOUT);
    }
    guard.fd = -1;
    return fd;
}

} // namespace ai_scale::cache
