// LD_PRELOAD library for TAP tests of a host name whose lookup does not end (a resolver that
// does not answer, as when DNS is unreachable): getaddrinfo() of a name ending in
// ".slow.invalid" sleeps for good, unless asked for a numeric host (which a real resolver
// answers at once). Every other call goes to the C library's. No system file is changed.
#include <dlfcn.h>
#include <netdb.h>
#include <unistd.h>

#include <cstring>

namespace {

bool slow_name(const char* node)
{
    static const char suffix[] = ".slow.invalid";
    const size_t n = node ? std::strlen(node) : 0;
    const size_t s = sizeof suffix - 1;
    return n >= s && std::strcmp(node + n - s, suffix) == 0;
}

} // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res)
{
    if (slow_name(node) && !(hints && (hints->ai_flags & AI_NUMERICHOST)))
        for (;;)
            sleep(3600);
    using real_t = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
    static auto real = reinterpret_cast<real_t>(dlsym(RTLD_NEXT, "getaddrinfo"));
    return real(node, service, hints, res);
}
