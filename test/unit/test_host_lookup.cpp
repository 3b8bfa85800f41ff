#include "cache/host_lookup.hpp"
#include "cache/redis_client.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

using ai_scale::cache::lookup_host;
using ai_scale::cache::redis_failure;
using steady = std::chrono::steady_clock;

namespace {

int port_of(const ai_scale::cache::socket_address& a)
{
    if (a.address.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&a.address)->sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.address)->sin6_port);
}

void hook_not_called()
{
    ADD_FAILURE() << "an address needs no wait";
}

} // namespace

// An address is no lookup: it is answered even with the deadline already past, without a wait.
TEST(HostLookup, AddressNeedsNoLookup)
{
    const auto past = steady::now() - std::chrono::seconds(1);
    auto v4 = lookup_host("127.0.0.1", 6379, past, hook_not_called);
    ASSERT_EQ(v4.size(), 1u);
    EXPECT_EQ(v4[0].address.ss_family, AF_INET);
    EXPECT_EQ(port_of(v4[0]), 6379);
    auto v6 = lookup_host("::1", 26379, past, hook_not_called);
    ASSERT_EQ(v6.size(), 1u);
    EXPECT_EQ(v6[0].address.ss_family, AF_INET6);
    EXPECT_EQ(port_of(v6[0]), 26379);
}

// A name goes through the resolver (localhost: /etc/hosts); IPv4 addresses come first.
TEST(HostLookup, NameIsLookedUp)
{
    auto a = lookup_host("localhost", 6380, steady::now() + std::chrono::seconds(30), nullptr);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(port_of(a[0]), 6380);
    bool seen_v6 = false;
    for (const auto& s : a) {
        if (s.address.ss_family == AF_INET6)
            seen_v6 = true;
        else
            EXPECT_FALSE(seen_v6) << "an IPv4 address after an IPv6 one";
    }
}

// A name that is no name (an empty label) fails, as redis_failure naming it.
TEST(HostLookup, BadNameFails)
{
    try {
        lookup_host("bad..name", 6379, steady::now() + std::chrono::seconds(30), nullptr);
        ADD_FAILURE() << "bad..name resolved";
    } catch (const redis_failure& e) {
        EXPECT_NE(std::string(e.what()).find("could not look up \"bad..name\""), std::string::npos)
            << e.what();
    }
}
