#include "cache/host_lookup.hpp"
#include "cache/fd_wait.hpp"
#include "cache/redis_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace ai_scale::cache {

namespace {

using steady = std::chrono::steady_clock;

// One getaddrinfo() on its thread. The thread and the backend share it; the thread writes a
// byte to the pipe when done.
struct lookup {
    std::mutex mutex;
    bool done = false;
    int status = 0;
    addrinfo* result = nullptr;
    int pipe_fds[2] = {-1, -1};

    ~lookup()
    {
        if (result)
            freeaddrinfo(result);
        for (int fd : pipe_fds)
            if (fd >= 0)
                close(fd);
    }
};

// The lookups started and not yet taken, by host name.
std::unordered_map<std::string, std::shared_ptr<lookup>> pending;

void run_lookup(std::shared_ptr<lookup> l, std::string host)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const int status = getaddrinfo(host.c_str(), nullptr, &hints, &result);
    {
        std::lock_guard<std::mutex> guard(l->mutex);
        l->status = status;
        l->result = result;
        l->done = true;
    }
    const char byte = 1;
    while (write(l->pipe_fds[1], &byte, 1) < 0 && errno == EINTR) {
    }
}

std::shared_ptr<lookup> start_lookup(const std::string& host)
{
    auto l = std::make_shared<lookup>();
    if (pipe2(l->pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw redis_failure(std::string("pipe: ") + std::strerror(errno));
    // The thread starts with every signal blocked, so that Postgres's handlers (a cancel, a
    // SIGTERM, a latch's SIGURG) run on the backend's own thread only.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        std::thread(run_lookup, l, host).detach();
    } catch (const std::system_error& e) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw redis_failure(std::string("cannot start a host name lookup: ") + e.what());
    } catch (...) { // std::bad_alloc: the backend must not go on with every signal blocked
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return l;
}

std::vector<socket_address> addresses(const addrinfo* list, int port)
{
    std::vector<socket_address> out;
    for (int family : {AF_INET, AF_INET6})
        for (const addrinfo* a = list; a; a = a->ai_next) {
            if (a->ai_family != family || a->ai_addrlen > sizeof(sockaddr_storage))
                continue;
            socket_address s{};
            std::memcpy(&s.address, a->ai_addr, a->ai_addrlen);
            s.length = a->ai_addrlen;
            if (family == AF_INET)
                reinterpret_cast<sockaddr_in*>(&s.address)->sin_port = htons(uint16_t(port));
            else
                reinterpret_cast<sockaddr_in6*>(&s.address)->sin6_port = htons(uint16_t(port));
            out.push_back(s);
        }
    return out;
}

std::vector<socket_address> resolved(const std::string& host, int status, const addrinfo* list,
                                     int port)
{
    if (status != 0)
        throw redis_failure("could not look up \"" + host + "\": " + gai_strerror(status));
    auto out = addresses(list, port);
    if (out.empty())
        throw redis_failure("could not look up \"" + host + "\": no IPv4 or IPv6 address");
    return out;
}

} // namespace

std::vector<socket_address> lookup_host(const std::string& host, int port,
                                        steady::time_point deadline, void (*hook)())
{
    // An IPv4 or IPv6 address: no resolver involved, never waits.
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* numeric = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &numeric) == 0) {
        std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(numeric, freeaddrinfo);
        return resolved(host, 0, numeric, port);
    }

    auto it = pending.find(host);
    if (it == pending.end())
        it = pending.emplace(host, start_lookup(host)).first;
    const std::shared_ptr<lookup> l = it->second;
    for (;;) {
        {
            std::lock_guard<std::mutex> guard(l->mutex);
            if (l->done) {
                pending.erase(host);
                return resolved(host, l->status, l->result, port);
            }
        }
        // The thread writes a byte to the pipe once it is done.
        if (!wait_for_fd(l->pipe_fds[0], POLLIN, deadline, hook))
            throw redis_failure("timed out looking up \"" + host +
                                "\" (the lookup goes on, and the next request takes its answer)");
    }
}

void forget_lookups_except(const std::vector<std::string>& hosts)
{
    for (auto it = pending.begin(); it != pending.end();) {
        if (std::find(hosts.begin(), hosts.end(), it->first) == hosts.end())
            it = pending.erase(it);
        else
            ++it;
    }
}

} // namespace ai_scale::cache
