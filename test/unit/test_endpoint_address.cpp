#include "cache/endpoint_address.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::endpoint_problem;
using ai_scale::cache::endpoint_text;
using ai_scale::cache::parse_endpoint;

namespace {

const std::string form = "Use host:port, for example 127.0.0.1:6379, [::1]:6379 for an IPv6 "
                         "address, or the absolute path of a Unix-domain socket, for example "
                         "/run/redis/redis.sock.";
const std::string tcp_form =
    "Use host:port, for example 127.0.0.1:6379, or [::1]:6379 for an IPv6 address.";
const std::string sentinel_socket =
    "ai_scale.redis_sentinels takes host:port only: a Sentinel names the primary and replicas by "
    "address. Use host:port, for example 127.0.0.1:26379.";

// "host|port" or "socket|path" when text parses, else the hint.
std::string parsed(std::string_view text,
                   ai_scale::cache::socket_paths sockets = ai_scale::cache::socket_paths::allowed)
{
    endpoint_problem problem;
    auto a = parse_endpoint(text, &problem, sockets);
    if (!a) {
        EXPECT_EQ(problem.message, "invalid Redis endpoint \"" + std::string(text) + "\"");
        return problem.hint;
    }
    if (!a->path.empty()) {
        EXPECT_TRUE(a->host.empty() && a->port == 0) << text;
        return "socket|" + a->path;
    }
    return a->host + "|" + std::to_string(a->port);
}

std::string parsed_for_sentinels(std::string_view text)
{
    return parsed(text, ai_scale::cache::socket_paths::refused);
}

} // namespace

TEST(EndpointAddress, HostAndPort)
{
    EXPECT_EQ(parsed("127.0.0.1:6379"), "127.0.0.1|6379");
    EXPECT_EQ(parsed("localhost:6379"), "localhost|6379");
    EXPECT_EQ(parsed("redis-a.internal:1"), "redis-a.internal|1");
    EXPECT_EQ(parsed("h:65535"), "h|65535");
    EXPECT_EQ(parsed("h:06379"), "h|6379");
}

TEST(EndpointAddress, IPv6InBrackets)
{
    EXPECT_EQ(parsed("[::1]:6379"), "::1|6379");
    EXPECT_EQ(parsed("[2001:db8::5]:26379"), "2001:db8::5|26379");
    EXPECT_EQ(parsed("[fe80::1%eth0]:6379"), "fe80::1%eth0|6379");
    // Without brackets it is ambiguous ("::1:6379" is an address too) or has no port.
    EXPECT_EQ(parsed("::1:6379"), "Write an IPv6 address in brackets, for example [::1]:6379.");
    EXPECT_EQ(parsed("fe80::1"), "Write an IPv6 address in brackets, for example [::1]:6379.");
    EXPECT_EQ(parsed("[redis-a]:6379"), "Only an IPv6 address goes in brackets, for example "
                                        "[::1]:6379.");
    EXPECT_EQ(parsed("[127.0.0.1]:6379"), "Only an IPv6 address goes in brackets, for example "
                                          "[::1]:6379.");
    EXPECT_EQ(parsed("[::1]"), form);
    EXPECT_EQ(parsed("[::1]6379"), form);
    EXPECT_EQ(parsed("[::1:6379"), form);
}

TEST(EndpointAddress, NoUrlNoSocket)
{
    const std::string url = "Give host:port, not a URL, for example 127.0.0.1:6379; the "
                            "password goes in ai_scale.redis_password and the database in "
                            "ai_scale.redis_db.";
    EXPECT_EQ(parsed("redis://127.0.0.1:6379"), url);
    EXPECT_EQ(parsed("rediss://h:6380"), "ai_scale does not use TLS. " + url);
    EXPECT_EQ(parsed("unix:///run/redis/redis.sock"),
              "Give the socket's absolute path alone, not a URL, for example "
              "/run/redis/redis.sock.");
    EXPECT_EQ(parsed("unix:/run/redis/redis.sock"),
              "Give the socket's absolute path alone, not a URL, for example "
              "/run/redis/redis.sock.");
    EXPECT_EQ(parsed("unix:6379"), "unix|6379"); // a host named unix
}

// An absolute path names a Unix-domain socket: any printable ASCII but the space and ',', an
// '@' and "://" too (a directory may be named so; no password comes in a path).
TEST(EndpointAddress, SocketPath)
{
    EXPECT_EQ(parsed("/var/run/redis/redis.sock"), "socket|/var/run/redis/redis.sock");
    EXPECT_EQ(parsed("/tmp/redis.sock"), "socket|/tmp/redis.sock");
    EXPECT_EQ(parsed("/r"), "socket|/r");
    EXPECT_EQ(parsed("/run/redis-server@main/redis.sock"),
              "socket|/run/redis-server@main/redis.sock");
    EXPECT_EQ(parsed("/run/redis:6379/x"), "socket|/run/redis:6379/x");
    EXPECT_EQ(parsed("/a/../b/./redis.sock"), "socket|/a/../b/./redis.sock"); // as written
    const std::string longest = "/" + std::string(106, 'a');
    EXPECT_EQ(parsed(longest), "socket|" + longest);
}

TEST(EndpointAddress, SocketPathRefused)
{
    const std::string too_long = "A socket path has at most 107 bytes (the size of sockaddr_un's "
                                 "sun_path). Give Redis a shorter one in redis.conf's unixsocket.";
    const std::string bytes = "A socket path is taken in printable ASCII without spaces or commas "
                              "(they separate endpoints). Give Redis such a path in redis.conf's "
                              "unixsocket.";
    const std::string relative = "A Unix-domain socket is named by its absolute path, starting "
                                 "with '/', for example /run/redis/redis.sock.";
    EXPECT_EQ(parsed("/" + std::string(107, 'a')), too_long);
    EXPECT_EQ(parsed("/tmp/redis\n.sock"), bytes);
    EXPECT_EQ(parsed("/tmp/redis\t.sock"), bytes);
    EXPECT_EQ(parsed("/tmp/redis\x7f.sock"), bytes);
    EXPECT_EQ(parsed(std::string_view("/tmp/a\0b", 8)), bytes);
    EXPECT_EQ(parsed("/tmp/my redis.sock"), bytes);
    EXPECT_EQ(parsed("/tmp/a,b.sock"), bytes);
    EXPECT_EQ(parsed(std::string("/tmp/r\xc3\xa9") + "dis.sock"), bytes);
    EXPECT_EQ(parsed("/run/redis/"), "Name the socket itself, for example /run/redis/redis.sock, "
                                     "not its directory.");
    EXPECT_EQ(parsed("/"), "Name the socket itself, for example /run/redis/redis.sock, not its "
                           "directory.");
    EXPECT_EQ(parsed("redis/redis.sock"), relative);
    EXPECT_EQ(parsed("./redis.sock"), relative);
    EXPECT_EQ(parsed("../run/redis.sock"), relative);
    EXPECT_EQ(parsed("~/redis.sock"), relative);
    EXPECT_EQ(parsed("redis.sock"), form); // as much a host without its port
    // A host has no '/' (a sentinel naming "/tmp/x" as its primary named no host).
    EXPECT_EQ(parsed("run/redis:6379"), form);
    EXPECT_FALSE(ai_scale::cache::host_bytes_allowed("/tmp/x"));
}

// A Sentinel is asked over TCP: ai_scale.redis_sentinels takes no socket path.
TEST(EndpointAddress, NoSocketForSentinels)
{
    EXPECT_EQ(parsed_for_sentinels("/run/redis/sentinel.sock"), sentinel_socket);
    EXPECT_EQ(parsed_for_sentinels("unix:///run/redis/sentinel.sock"), sentinel_socket);
    EXPECT_EQ(parsed_for_sentinels("no-port"), tcp_form);
    EXPECT_EQ(parsed_for_sentinels("run/sentinel.sock"), tcp_form);
    EXPECT_EQ(parsed_for_sentinels("127.0.0.1:26379"), "127.0.0.1|26379");
}

// A password written into the endpoint never reaches the message, which the client and the
// server log get: `SET ai_scale.redis_primary = 'redis://:s3cret@h:6379'` answered with
// invalid Redis endpoint "redis://:s3cret@h:6379".
TEST(EndpointAddress, CredentialsNotShown)
{
    const std::string url = "Give host:port, not a URL, for example 127.0.0.1:6379; the "
                            "password goes in ai_scale.redis_password and the database in "
                            "ai_scale.redis_db.";
    const std::string credentials = "Give host:port, for example 127.0.0.1:6379; the user name "
                                    "goes in ai_scale.redis_user and the password in "
                                    "ai_scale.redis_password.";
    struct refused {
        const char* text;
        const char* shown;
        std::string hint;
    };
    const refused cases[] = {
        {"redis://:s3cret@h:6379/2", "redis://***@h:6379/2", url},
        {"rediss://app:s3cret@h:6380", "rediss://***@h:6380", "ai_scale does not use TLS. " + url},
        {"app:s3cret@h:6379", "***@h:6379", credentials},
        {"s3cret@h:6379", "***@h:6379", credentials},
        {"a@b:c@h:6379", "***@h:6379", credentials},
    };
    for (const refused& c : cases) {
        endpoint_problem problem;
        EXPECT_FALSE(parse_endpoint(c.text, &problem)) << c.text;
        EXPECT_EQ(problem.message, std::string("invalid Redis endpoint \"") + c.shown + "\"");
        EXPECT_EQ(problem.message.find("s3cret"), std::string::npos) << problem.message;
        EXPECT_EQ(problem.hint, c.hint) << c.text;
    }
    EXPECT_FALSE(ai_scale::cache::host_bytes_allowed("s3cret@h"));
}

// A password in a query, as some clients take it, is not shown either (the refusal quoted the
// whole value, to the client and, from postgresql.conf, to the server log).
TEST(EndpointAddress, QueryNotShown)
{
    const std::pair<const char*, const char*> cases[] = {
        {"redis://h:6379?password=s3cret", "redis://h:6379?***"},
        {"unix:///tmp/r.sock?password=s3cret", "unix:///tmp/r.sock?***"},
        {"h:6379?password=s3cret", "h:6379?***"},
        {"redis://app:s3cret@h:6379?db=2&password=s3cret", "redis://***@h:6379?***"},
        {"redis://h:6379?password=a@s3cret", "redis://***?***"},
        {"redis://:s3cret?x@h2:6379", "redis://***?***"},
    };
    for (const auto& [text, shown] : cases) {
        endpoint_problem problem;
        EXPECT_FALSE(parse_endpoint(text, &problem)) << text;
        EXPECT_EQ(problem.message, std::string("invalid Redis endpoint \"") + shown + "\"");
        EXPECT_EQ(problem.message.find("s3cret"), std::string::npos) << problem.message;
        EXPECT_EQ(problem.hint.find("s3cret"), std::string::npos) << problem.hint;
    }
}

TEST(EndpointAddress, RefusedForms)
{
    const std::string port = "The port must be a number from 1 to 65535.";
    EXPECT_EQ(parsed(""), form);
    EXPECT_EQ(parsed("no-port"), form);
    EXPECT_EQ(parsed(":6379"), form);
    EXPECT_EQ(parsed("h:"), port);
    EXPECT_EQ(parsed("h:0"), port);
    EXPECT_EQ(parsed("h:65536"), port);
    EXPECT_EQ(parsed("h:123456"), port);
    EXPECT_EQ(parsed("h:63a9"), port);
    EXPECT_EQ(parsed("h:-1"), port);
    EXPECT_EQ(parsed("h\tx:6379"), form);
    EXPECT_EQ(parsed("h\xc3\xa9:6379"), form);
    const std::string longest(253, 'a');
    EXPECT_EQ(parsed(longest + ":6379"), longest + "|6379");
    EXPECT_EQ(parsed(longest + "a:6379"), "A host name has at most 253 characters.");
}

TEST(EndpointAddress, TextReadsBack)
{
    EXPECT_EQ(endpoint_text("10.0.0.5", "6379"), "10.0.0.5:6379");
    EXPECT_EQ(endpoint_text("redis-a", "6379"), "redis-a:6379");
    EXPECT_EQ(endpoint_text("::1", "6379"), "[::1]:6379");
    endpoint_problem problem;
    auto a = parse_endpoint(endpoint_text("2001:db8::5", "6380"), &problem);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "2001:db8::5");
    EXPECT_EQ(a->port, 6380);
}

TEST(EndpointAddress, SameEndpoint)
{
    auto same = [](const char* a, const char* b) {
        endpoint_problem problem;
        auto x = parse_endpoint(a, &problem);
        auto y = parse_endpoint(b, &problem);
        EXPECT_TRUE(x && y) << a << " " << b;
        return ai_scale::cache::same_endpoint(*x, *y);
    };
    EXPECT_TRUE(same("127.0.0.1:6380", "127.0.0.1:6380"));
    EXPECT_TRUE(same("127.0.0.1:6380", "127.0.0.1:06380"));
    EXPECT_TRUE(same("Redis-B.internal:6380", "redis-b.INTERNAL:6380"));
    // Every letter, A to Z, either case.
    EXPECT_TRUE(
        same("ABCDEFGHIJKLMNOPQRSTUVWXYZ.example:6380", "abcdefghijklmnopqrstuvwxyz.EXAMPLE:6380"));
    EXPECT_TRUE(same("[::1]:6380", "[0:0:0:0:0:0:0:1]:6380"));
    EXPECT_TRUE(same("[2001:DB8::5]:6380", "[2001:db8:0::5]:6380"));
    EXPECT_TRUE(same("[fe80::1%eth0]:6380", "[fe80:0::1%eth0]:6380"));
    EXPECT_FALSE(same("127.0.0.1:6380", "127.0.0.1:6381"));
    EXPECT_FALSE(same("[fe80::1%eth0]:6380", "[fe80::1%eth1]:6380"));
    EXPECT_FALSE(same("localhost:6380", "127.0.0.1:6380")); // names are not looked up
    EXPECT_FALSE(same("[::1]:6380", "[::2]:6380"));
    // Socket paths are compared byte for byte: a path is not resolved, nor a link followed.
    EXPECT_TRUE(same("/run/redis/redis.sock", "/run/redis/redis.sock"));
    EXPECT_FALSE(same("/run/redis/redis.sock", "/run/redis/Redis.sock"));
    EXPECT_FALSE(same("/run/redis/redis.sock", "/run/redis//redis.sock"));
    EXPECT_FALSE(same("/run/redis/redis.sock", "/run/redis/redis-b.sock"));
    EXPECT_FALSE(same("/run/redis/redis.sock", "localhost:6379"));
    EXPECT_FALSE(same("localhost:6379", "/run/redis/redis.sock"));
}
