// LD_PRELOAD library for TAP tests of a host name whose lookup does not end (a resolver that
// does not answer, as when DNS is unreachable): getaddrinfo() of a name ending in
// ".slow.invalid" sleeps for good, unless asked for a numeric host (which a real resolver
// answers at once). One ending in ".late.invalid" answers "no such name" after a second (a slow
// resolver that does answer). One ending in ".once.invalid" answers "no such name" the first
// time a process asks for such a name, and 127.0.0.1 from then on (a name that DNS gets to
// know, or moves). Every other call goes to the C library's. No system file is changed.
#include <dlfcn.h>
#include <netdb.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace {

bool ends_with(const char* node, const char* suffix)
{
    const size_t n = node ? std::strlen(node) : 0;
    const size_t s = std::strlen(suffix);
    return n >= s && std::strcmp(node + n - s, suffix) == 0;
}

} // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res)
{
    const bool numeric = hints && (hints->ai_flags & AI_NUMERICHOST);
    if (ends_with(node, ".slow.invalid") && !numeric)
        for (;;)
            sleep(3600);
    if (ends_with(node, ".late.invalid") && !numeric) {
        sleep(1);
        return EAI_NONAME;
    }
    using real_t = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
    static auto real = reinterpret_cast<real_t>(dlsym(RTLD_NEXT, "getaddrinfo"));
    if (ends_with(node, ".once.invalid") && !numeric) {
        static std::atomic<int> asked{0};
        if (asked++ == 0)
            return EAI_NONAME;
        return real("127.0.0.1", service, hints, res);
    }
    return real(node, service, hints, res);
}
