// LD_PRELOAD library for TAP tests of wall-clock steps: CLOCK_REALTIME (clock_gettime,
// gettimeofday, time) is moved by the seconds written in the file $AI_SCALE_CLOCK_SHIFT_FILE,
// read at each call, so a test steps a running server's wall clock back or forth as NTP or a
// resumed VM does; CLOCK_MONOTONIC is left alone, as a real step leaves it. libfaketime's
// timestamp file reached the backends but not the postmaster nor background workers.
// Only async-signal-safe calls: the postmaster reads the clock in signal handlers.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

namespace {

long shift_s()
{
    const char* path = getenv("AI_SCALE_CLOCK_SHIFT_FILE"); // not kept: Postgres moves environ
    if (path == nullptr)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, nullptr, 10);
}

} // namespace

extern "C" {

int clock_gettime(clockid_t id, struct timespec* ts)
{
    int rc = int(syscall(SYS_clock_gettime, id, ts));
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += shift_s();
    return rc;
}

int gettimeofday(struct timeval* tv, void*)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t* t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t != nullptr)
        *t = ts.tv_sec;
    return ts.tv_sec;
}
}
