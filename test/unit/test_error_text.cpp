#include "cache/error_text.hpp"

#include <gtest/gtest.h>

using ai_scale::cache::redis_error_text;

TEST(ErrorText, KeepsPlainReplies)
{
    EXPECT_EQ(redis_error_text("WRONGPASS invalid username-password pair or user is disabled.",
                               "S3cr3t-pw-XYZ"),
              "WRONGPASS invalid username-password pair or user is disabled.");
    EXPECT_EQ(redis_error_text("NOAUTH Authentication required.", ""),
              "NOAUTH Authentication required.");
}

TEST(ErrorText, WithholdsAReplyThatRepeatsThePassword)
{
    const std::string withheld =
        "ERR unknown command 'AUTH', with args beginning with: (the arguments are withheld: "
        "they may repeat the password)";
    // Redis 7 with AUTH renamed away echoes the command's arguments.
    EXPECT_EQ(
        redis_error_text("ERR unknown command 'AUTH', with args beginning with: 'S3cr3t-pw-XYZ' ",
                         "S3cr3t-pw-XYZ"),
        withheld);
    // Redis cuts long arguments to 128 bytes in all: after a long user name, only the first
    // bytes of the password are there (7 of them here), fewer than the probe looks for.
    const std::string user(118, 'u');
    EXPECT_EQ(redis_error_text("ERR unknown command 'AUTH', with args beginning with: '" + user +
                                   "' 'Pa55w0r' ",
                               "Pa55w0rd-TOPSECRET"),
              withheld);
    // Redis 6 quotes with backquotes; the words are the same.
    EXPECT_EQ(
        redis_error_text("ERR unknown command `AUTH`, with args beginning with: `pw12`, ", "pw12"),
        "ERR unknown command `AUTH`, with args beginning with: (the arguments are "
        "withheld: they may repeat the password)");
    // Not even its first word is kept when that is where the password is.
    EXPECT_EQ(redis_error_text("hunter22 was not expected", "hunter22"),
              " (the rest of the reply is withheld: it repeats the password)");
    // Redis writes CR and LF as spaces in what it repeats.
    EXPECT_EQ(redis_error_text("ERR 'ab cdefgh-TOPSECRET' is wrong", "ab\ncdefgh-TOPSECRET"),
              "ERR (the rest of the reply is withheld: it repeats the password)");
    // Without a password set, an unknown command's arguments (key names) stay.
    EXPECT_EQ(redis_error_text("ERR unknown command 'FOO', with args beginning with: 'k' ", ""),
              "ERR unknown command 'FOO', with args beginning with: 'k' ");
}

TEST(ErrorText, EscapesBytesOutsidePrintableAscii)
{
    using namespace std::string_literals;
    EXPECT_EQ(redis_error_text("ERR 'ASC1\x91_b)\xa2\x01' \\ end\r\n"s, ""),
              "ERR 'ASC1\\x91_b)\\xa2\\x01' \\x5c end\\x0d\\x0a");
}

// The breakers' last error, read by sessions of every database: connection errors worded by the
// C library in a session's language and encoding come out ASCII; escapes already made stay.
TEST(ErrorText, MakesOtherTextAscii)
{
    using ai_scale::cache::ascii_text;
    EXPECT_EQ(ascii_text("connect: Connexion refus\xe9"), "connect: Connexion refus\\xe9");
    EXPECT_EQ(ascii_text("connect: Connexion refus\xc3\xa9"), "connect: Connexion refus\\xc3\\xa9");
    EXPECT_EQ(ascii_text("AUTH: ERR 'a\\x91b'\n"), "AUTH: ERR 'a\\x91b'\\x0a");
}

// Replies that refuse one command while the endpoint serves others do not count toward its
// breaker; the rest (a wrong password, LOADING, READONLY, anything unknown) do.
// The 08006 DETAIL and the breaker's "Last error: ..." are sentences: "Endpoint 127.0.0.1:6379:
// connect: Connection refused" lacked the period, "NOAUTH Authentication required." has one.
TEST(ErrorText, EndsASentenceOnce)
{
    EXPECT_EQ(ai_scale::cache::full_stop("connect: Connection refused"),
              "connect: Connection refused.");
    EXPECT_EQ(ai_scale::cache::full_stop("NOAUTH Authentication required."),
              "NOAUTH Authentication required.");
    EXPECT_EQ(ai_scale::cache::full_stop(""), ".");
}

TEST(ErrorText, TellsRefusalsOfOneCommandFromFailingEndpoints)
{
    using ai_scale::cache::refuses_command_only;
    EXPECT_TRUE(refuses_command_only("OOM command not allowed when used memory > 'maxmemory'."));
    EXPECT_TRUE(
        refuses_command_only("NOPERM this user has no permissions to run the 'incr' command"));
    EXPECT_TRUE(refuses_command_only("MISCONF Redis is configured to save RDB snapshots"));
    EXPECT_TRUE(refuses_command_only("NOREPLICAS Not enough good replicas to write."));
    EXPECT_TRUE(
        refuses_command_only("WRONGTYPE Operation against a key holding the wrong kind of value"));
    EXPECT_TRUE(refuses_command_only("ERR max number of clients reached"));
    EXPECT_FALSE(refuses_command_only("ERR max number of clients"));
    EXPECT_TRUE(refuses_command_only("ERR value is not an integer or out of range"));
    EXPECT_TRUE(refuses_command_only("ERR increment or decrement would overflow"));
    EXPECT_TRUE(ai_scale::cache::refuses_connection("ERR max number of clients reached"));
    EXPECT_FALSE(ai_scale::cache::refuses_connection("OOM command not allowed"));
    EXPECT_TRUE(refuses_command_only("OOM"));
    EXPECT_FALSE(refuses_command_only("OOMX something"));
    EXPECT_FALSE(refuses_command_only("WRONGPASS invalid username-password pair"));
    EXPECT_FALSE(refuses_command_only("LOADING Redis is loading the dataset in memory"));
    EXPECT_FALSE(refuses_command_only("READONLY You can't write against a read only replica."));
    EXPECT_TRUE(refuses_command_only("ERR unknown command 'MGET'"));
    EXPECT_TRUE(refuses_command_only(
        "ERR unknown command 'INFO', with args beginning with: 'replication' "));
    EXPECT_TRUE(refuses_command_only("ERR unknown command `INFO`, with args beginning with: "));
    EXPECT_FALSE(refuses_command_only("ERR unknown subcommand 'x'"));
    EXPECT_FALSE(refuses_command_only("ERR syntax error"));
    EXPECT_FALSE(refuses_command_only(""));
}

TEST(ErrorText, TellsALoginRefused)
{
    using ai_scale::cache::refuses_login;
    EXPECT_TRUE(refuses_login("AUTH: WRONGPASS invalid username-password pair or user is "
                              "disabled."));
    EXPECT_TRUE(refuses_login("AUTH: ERR AUTH <password> called without any password "
                              "configured for the default user. Are you sure your configuration "
                              "is correct?"));
    EXPECT_TRUE(refuses_login("AUTH: ERR invalid password"));
    EXPECT_TRUE(refuses_login("AUTH: ERR Client sent AUTH, but no password is set"));
    EXPECT_TRUE(refuses_login("NOAUTH Authentication required."));
    EXPECT_TRUE(refuses_login("SELECT: NOAUTH Authentication required."));
    // The AUTH step's connection failing, or another command's error, is no refusal.
    EXPECT_FALSE(refuses_login("AUTH: timeout after 100 ms"));
    EXPECT_FALSE(refuses_login("AUTH: ERR max number of clients reached"));
    EXPECT_FALSE(refuses_login("SELECT: ERR DB index is out of range"));
    EXPECT_FALSE(refuses_login("WRONGPASS invalid username-password pair"));
    EXPECT_FALSE(refuses_login("NOAUTHX"));
    EXPECT_FALSE(refuses_login(""));
}

TEST(ErrorText, TellsRepliesOnlyRedisClusterSends)
{
    using ai_scale::cache::cluster_reply;
    EXPECT_TRUE(cluster_reply("MOVED 3999 127.0.0.1:6381"));
    EXPECT_TRUE(cluster_reply("ASK 3999 127.0.0.1:6381"));
    EXPECT_TRUE(cluster_reply("CROSSSLOT Keys in request don't hash to the same slot"));
    EXPECT_TRUE(cluster_reply("CLUSTERDOWN Hash slot not served"));
    EXPECT_TRUE(cluster_reply("TRYAGAIN Multiple keys request during rehashing of slot"));
    EXPECT_FALSE(cluster_reply("ERR SELECT is not allowed in cluster mode"));
    EXPECT_FALSE(cluster_reply("MOVEDX 1 a:1"));
    EXPECT_FALSE(cluster_reply("NOPERM this user has no permissions"));
    EXPECT_FALSE(cluster_reply(""));
}

TEST(ErrorText, HintsWhatCuresARefusal)
{
    using ai_scale::cache::refusal_hint;
    EXPECT_EQ(refusal_hint("NOPERM this user has no permissions to run the 'incrby' command",
                           "noincr", ""),
              "Grant the Redis user the command INCRBY: ACL SETUSER noincr +incrby.");
    EXPECT_EQ(refusal_hint("NOPERM User ro has no permissions to run the 'set' command", "", ""),
              "Grant the Redis user the command SET: ACL SETUSER default +set.");
    EXPECT_EQ(refusal_hint("SELECT: NOPERM this user has no permissions to run the 'select' "
                           "command",
                           "u", ""),
              "Grant the Redis user the command SELECT: ACL SETUSER u +select.");
    EXPECT_EQ(refusal_hint("NOPERM this user has no permissions to run the 'config|get' command",
                           "u", ""),
              "Grant the Redis user the command CONFIG|GET: ACL SETUSER u +config|get.");
    // Every letter made upper case, the first and last of the alphabet too.
    EXPECT_EQ(refusal_hint("NOPERM User u has no permissions to run the 'zadd' command", "u", ""),
              "Grant the Redis user the command ZADD: ACL SETUSER u +zadd.");
    EXPECT_EQ(refusal_hint("NOPERM this user has no permissions to access one of the keys used "
                           "as arguments",
                           "u", ""),
              "Grant the Redis user ai_scale's keys: ACL SETUSER u ~ai_scale:*.");
    // A command name with anything but Redis's own characters is not echoed into the hint, nor
    // one cut short (no closing quote: the reply as kept is cut at 191 bytes): the whole grant.
    const std::string whole_grant =
        "Grant the Redis user the commands ai_scale uses: ACL SETUSER u +get +mget +set +incrby "
        "+info; and, unless it has every key, ai_scale's keys: ACL SETUSER u ~ai_scale:*.";
    EXPECT_EQ(refusal_hint("NOPERM x to run the 'set +@all' command", "u", ""), whole_grant);
    EXPECT_EQ(refusal_hint("NOPERM User u has no permissions to run the 'inc", "u", ""),
              whole_grant);
    EXPECT_EQ(refusal_hint("NOPERM", "u", ""), whole_grant);
    EXPECT_EQ(refusal_hint("NOPERM No permissions to access a key", "u", ""),
              "Grant the Redis user ai_scale's keys: ACL SETUSER u ~ai_scale:*.");
    EXPECT_EQ(
        refusal_hint("NOPERM User u has no permissions to access the 'ai_scale:x' key", "u", ""),
        "Grant the Redis user ai_scale's keys: ACL SETUSER u ~ai_scale:*.");
    // "key" in a user's name, the reply cut short before its command (Redis 7.2 names the user
    // first): no key refusal, the whole grant.
    EXPECT_EQ(refusal_hint("NOPERM User monkey has no permissions to run the 'inc", "u", ""),
              whole_grant);
    // The SELECT of ai_scale.redis_db refused, its reply withheld (it repeated the password):
    // SELECT is the command.
    EXPECT_EQ(refusal_hint("SELECT: NOPERM (the rest of the reply is withheld: it repeats the "
                           "password)",
                           "u", ""),
              "Grant the Redis user the command SELECT: ACL SETUSER u +select.");
    // A user's name as redis-cli reads it: quoted when it holds more than letters, digits and
    // _.:@- (a quote in it failed the line), a quote and a backslash escaped, control bytes hex.
    EXPECT_EQ(refusal_hint("NOPERM this user has no permissions to run the 'incrby' command",
                           "app's", ""),
              "Grant the Redis user the command INCRBY: ACL SETUSER \"app's\" +incrby.");
    EXPECT_EQ(
        refusal_hint("NOPERM this user has no permissions to run the 'incrby' command",
                     "a \"b\"\\c\nd", ""),
        "Grant the Redis user the command INCRBY: ACL SETUSER \"a \\\"b\\\"\\\\c\\x0ad\" +incrby.");
    EXPECT_EQ(refusal_hint("NOPERM this user has no permissions to run the 'incrby' command",
                           "svc-app_1.x:y@z", ""),
              "Grant the Redis user the command INCRBY: ACL SETUSER svc-app_1.x:y@z +incrby.");
    EXPECT_EQ(refusal_hint("AUTH: WRONGPASS invalid username-password pair", "u", ""),
              "Set ai_scale.redis_password, and ai_scale.redis_user for an ACL user, to a login "
              "this Redis accepts.");
    EXPECT_EQ(refusal_hint("NOAUTH Authentication required.", "", ""),
              "Set ai_scale.redis_password, and ai_scale.redis_user for an ACL user, to a login "
              "this Redis accepts.");
    const std::string key_hint = "Key \"ai_scale:gen:ab:1\" holds a value ai_scale did not "
                                 "write. Delete the key: ai_scale then makes the counter again.";
    EXPECT_EQ(refusal_hint("ERR value is not an integer or out of range", "", "ai_scale:gen:ab:1"),
              key_hint);
    EXPECT_EQ(refusal_hint("ERR increment or decrement would overflow", "", "ai_scale:gen:ab:1"),
              key_hint);
    EXPECT_EQ(refusal_hint("the counter is at -5, outside what ai_scale counts to (1 to 2^62).", "",
                           "ai_scale:gen:ab:1"),
              key_hint);
    // Without the counter's key (a SET's refusal) there is no key to name.
    EXPECT_EQ(refusal_hint("ERR value is not an integer or out of range", "", ""), "");
    // What failing over or cache_strict = off does cure has no hint of its own.
    EXPECT_EQ(refusal_hint("OOM command not allowed when used memory > 'maxmemory'.", "", "k"), "");
    EXPECT_EQ(refusal_hint("connect: Connection refused", "", "k"), "");
    EXPECT_EQ(refusal_hint("", "", ""), "");
}
