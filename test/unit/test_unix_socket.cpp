#include "cache/redis_client.hpp"
#include "cache/unix_socket.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

using ai_scale::cache::connect_unix_socket;
using ai_scale::cache::redis_failure;
using steady = std::chrono::steady_clock;

namespace {

// A directory of the test's own, removed with what it holds at the end.
struct scratch_dir {
    std::string path;
    scratch_dir()
    {
        char templ[] = "/tmp/ai_scale_unix_XXXXXX";
        path = mkdtemp(templ);
    }
    ~scratch_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// A socket listening at path (backlog as given), or -1.
int listen_at(const std::string& path, int backlog)
{
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// The message connect_unix_socket threw for path, or "" when it connected.
std::string failure(const std::string& path, steady::time_point deadline, void (*hook)() = nullptr)
{
    try {
        close(connect_unix_socket(path, deadline, hook));
        return "";
    } catch (const redis_failure& e) {
        return e.what();
    }
}

int hook_calls = 0;
void count_call()
{
    hook_calls++;
}

// A cancel that arrives at the third wake: while the connect waits, not before it.
struct cancelled {};
void cancel_at_third_call()
{
    if (++hook_calls == 3)
        throw cancelled{};
}

} // namespace

// A listening socket is connected to, non-blocking, and the hook is asked first.
TEST(UnixSocket, Connects)
{
    scratch_dir dir;
    const std::string path = dir.path + "/redis.sock";
    const int server = listen_at(path, 8);
    ASSERT_GE(server, 0);
    hook_calls = 0;
    const int fd = connect_unix_socket(path, steady::now() + std::chrono::seconds(30), count_call);
    EXPECT_GE(hook_calls, 1);
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    const int accepted = accept(server, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    EXPECT_EQ(write(fd, "PING\r\n", 6), 6);
    char buf[8] = {};
    EXPECT_EQ(read(accepted, buf, sizeof buf), 6);
    close(accepted);
    close(fd);
    close(server);
}

// No socket there, a socket file nobody listens on (a Redis that was killed), a directory: each
// fails at once with the error as the TCP connect words it.
TEST(UnixSocket, FailsAsConnect)
{
    scratch_dir dir;
    const auto later = steady::now() + std::chrono::seconds(30);
    EXPECT_EQ(failure(dir.path + "/none.sock", later), "connect: No such file or directory");
    const std::string stale = dir.path + "/stale.sock";
    close(listen_at(stale, 8));
    EXPECT_EQ(failure(stale, later), "connect: Connection refused");
    EXPECT_EQ(failure(dir.path, later), "connect: Connection refused");
}

// A socket its mode keeps us from writing to says where that is set. (Root may write to any.)
TEST(UnixSocket, PermissionNamesTheSetting)
{
    if (geteuid() == 0)
        GTEST_SKIP() << "root passes any socket's mode";
    scratch_dir dir;
    const std::string path = dir.path + "/redis.sock";
    const int server = listen_at(path, 8);
    ASSERT_GE(server, 0);
    ASSERT_EQ(chmod(path.c_str(), 0), 0);
    EXPECT_EQ(failure(path, steady::now() + std::chrono::seconds(30)),
              "connect: Permission denied (the server's user needs write permission on the "
              "socket: redis.conf's unixsocketperm)");
    close(server);
}

namespace {

// Fills the listen queue of the socket at path: connects that succeed until one answers
// EAGAIN. Returns their descriptors.
std::vector<int> fill_queue(const std::string& path)
{
    std::vector<int> held;
    for (int i = 0; i < 64; i++) {
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        const int error = errno;
        held.push_back(fd);
        if (!ok) {
            EXPECT_EQ(error, EAGAIN);
            return held;
        }
    }
    ADD_FAILURE() << "the listen queue of " << path << " took 64 connects without filling";
    return held;
}

} // namespace

// A listen queue that is full (a Redis that stopped accepting) is tried again until the
// deadline, the hook asked meanwhile, and a cancel from the hook ends the wait.
TEST(UnixSocket, FullQueueWaitsTillDeadline)
{
    scratch_dir dir;
    const std::string path = dir.path + "/redis.sock";
    const int server = listen_at(path, 0);
    ASSERT_GE(server, 0);
    const std::vector<int> held = fill_queue(path);
    hook_calls = 0;
    EXPECT_EQ(failure(path, steady::now() + std::chrono::milliseconds(50), count_call),
              "connect: Connection timed out");
    EXPECT_GE(hook_calls, 2);
    hook_calls = 0;
    EXPECT_THROW(
        connect_unix_socket(path, steady::now() + std::chrono::seconds(30), cancel_at_third_call),
        cancelled);
    // With room in the queue again, the connect is made.
    const int accepted = accept(server, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    EXPECT_EQ(failure(path, steady::now() + std::chrono::seconds(30)), "");
    close(accepted);
    for (int fd : held)
        close(fd);
    close(server);
}

// A queue full for a moment (a burst of connects to Redis's socket): the connect tries again
// every few milliseconds and is made once another session's connection is accepted. Waiting for
// its deadline instead before trying again, it failed there (ETIMEDOUT: a miss, a failure for
// the breaker, after the whole redis_timeout_ms).
TEST(UnixSocket, FullQueueThatDrainsConnects)
{
    scratch_dir dir;
    const std::string path = dir.path + "/redis.sock";
    const int server = listen_at(path, 0);
    ASSERT_GE(server, 0);
    const std::vector<int> held = fill_queue(path);
    std::thread drain([server] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        close(accept(server, nullptr, nullptr));
    });
    EXPECT_EQ(failure(path, steady::now() + std::chrono::seconds(30)), "");
    drain.join();
    for (int fd : held)
        close(fd);
    close(server);
}
