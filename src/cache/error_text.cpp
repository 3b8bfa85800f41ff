#include "cache/error_text.hpp"

namespace ai_scale::cache {

namespace {

// Redis cuts the arguments it echoes (128 bytes in all, each quoted), so a long password may
// come back cut short: its first bytes are what to look for.
constexpr size_t secret_probe_bytes = 8;

// s in printable ASCII: each byte outside it, or in as_hex, written \xNN; each in after_backslash
// written with a backslash before it; the others as they are.
std::string escaped(std::string_view s, std::string_view as_hex,
                    std::string_view after_backslash = {})
{
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (unsigned char ch : s) {
        if (ch < 0x20 || ch >= 0x7f || as_hex.find(char(ch)) != std::string_view::npos) {
            out += "\\x";
            out.push_back(hex[ch >> 4]);
            out.push_back(hex[ch & 0xf]);
        } else {
            if (after_backslash.find(char(ch)) != std::string_view::npos)
                out.push_back('\\');
            out.push_back(char(ch));
        }
    }
    return out;
}

// A backslash too is written \x5c, so that a \xNN in the text is told from one made here.
std::string printable(std::string_view s)
{
    return escaped(s, "\\");
}

} // namespace

std::string ascii_text(std::string_view s)
{
    return escaped(s, {});
}

std::string redis_error_text(std::string_view reply, std::string_view secret)
{
    if (secret.empty())
        return printable(reply);
    // An unknown command's arguments come after these words, cut to 128 bytes in all and with
    // CR and LF made spaces: AUTH's password there, whole or only its first bytes (after a long
    // user name), escaped the probe below. With a password set, they are never kept.
    constexpr std::string_view echo = "with args beginning with:";
    if (const size_t at = reply.find(echo); at != std::string_view::npos)
        return printable(reply.substr(0, at + echo.size())) +
               " (the arguments are withheld: they may repeat the password)";
    std::string probe(secret.substr(0, secret_probe_bytes));
    for (char& ch : probe)
        if (ch == '\r' || ch == '\n')
            ch = ' ';
    if (reply.find(probe) != std::string_view::npos) {
        std::string_view code = reply.substr(0, reply.find(' '));
        if (code.find(probe) != std::string_view::npos)
            code = {};
        return printable(code) + " (the rest of the reply is withheld: it repeats the password)";
    }
    return printable(reply);
}

std::string full_stop(std::string text)
{
    if (text.empty() || text.back() != '.')
        text += '.';
    return text;
}

bool cluster_reply(std::string_view reply)
{
    const std::string_view code = reply.substr(0, reply.find(' '));
    return code == "MOVED" || code == "ASK" || code == "CROSSSLOT" || code == "CLUSTERDOWN" ||
           code == "TRYAGAIN";
}

bool refuses_connection(std::string_view reply)
{
    // Redis's acceptCommonHandler has used these words since 2.x.
    constexpr std::string_view max_clients = "ERR max number of clients reached";
    return reply.substr(0, max_clients.size()) == max_clients;
}

bool refuses_login(std::string_view last_error)
{
    constexpr std::string_view auth = "AUTH: ";
    if (last_error.substr(0, auth.size()) == auth) {
        // Redis's words for a refused AUTH: 6 and later WRONGPASS, or "ERR AUTH <password>
        // called without any password configured"; 5 "ERR invalid password", or "ERR Client
        // sent AUTH, but no password is set". Other failures of that step are the connection's.
        const std::string_view reply = last_error.substr(auth.size());
        for (std::string_view refusal :
             {"WRONGPASS", "ERR AUTH ", "ERR invalid password", "ERR Client sent AUTH"})
            if (reply.substr(0, refusal.size()) == refusal)
                return true;
        return false;
    }
    // NOAUTH: the command itself, or the SELECT of ai_scale.redis_db that a new connection
    // sends first ("SELECT: NOAUTH ...").
    constexpr std::string_view select = "SELECT: ";
    if (last_error.substr(0, select.size()) == select)
        last_error.remove_prefix(select.size());
    constexpr std::string_view noauth = "NOAUTH ";
    return last_error.substr(0, noauth.size()) == noauth;
}

bool refuses_command_only(std::string_view reply)
{
    const std::string_view code = reply.substr(0, reply.find(' '));
    // A command renamed or disabled with rename-command, as managed services do, is unknown:
    // Redis 7 words it "ERR unknown command 'info', ...", 5 and 6 with backquotes.
    constexpr std::string_view unknown = "ERR unknown command";
    // WRONGTYPE: something other than ai_scale wrote a key of its names (a Redis database
    // shared with an application); the key is wrong, not the server. So is a generation counter
    // that INCRBY finds not a number, or would take past 2^63 - 1.
    constexpr std::string_view not_integer = "ERR value is not an integer";
    constexpr std::string_view overflow = "ERR increment or decrement would overflow";
    // A sentinel asked of a master it does not monitor (one database's redis_sentinel_master
    // wrong): an answer. Counted as a failure, it opened the sentinel's breaker, which every
    // database shares, and sessions of the right master were told no primary.
    constexpr std::string_view no_master = "ERR No such master with that name";
    return code == "OOM" || code == "NOPERM" || code == "MISCONF" || code == "NOREPLICAS" ||
           code == "WRONGTYPE" || reply.substr(0, unknown.size()) == unknown ||
           reply.substr(0, not_integer.size()) == not_integer ||
           reply.substr(0, overflow.size()) == overflow ||
           reply.substr(0, no_master.size()) == no_master || refuses_connection(reply);
}

namespace {

// The command a NOPERM names ("... to run the 'incrby' command", Redis 7; a subcommand as
// 'config|get'), lower case as Redis writes it; empty when it names a key or nothing.
std::string_view refused_command(std::string_view reply)
{
    constexpr std::string_view run = "to run the '";
    const size_t at = reply.find(run);
    if (at == std::string_view::npos)
        return {};
    std::string_view name = reply.substr(at + run.size());
    const size_t end = name.find('\'');
    // (Without its closing quote the name may be cut short: the reply as kept is cut at 191
    // bytes, and Redis 7.2 puts the user's name before it.)
    if (end == std::string_view::npos)
        return {};
    name = name.substr(0, end);
    for (char ch : name)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '|' || ch == '_'))
            return {};
    return name;
}

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Whether a NOPERM refuses a key, in Redis's words: 6.0 and 7.0 "... to access one of the keys
// used as arguments", 6.2 "No permissions to access a key", 7.2 "User u has no permissions to
// access the 'k' key". (Any "key" in the reply matched a user name such as "monkey" in a reply
// cut short before its command.)
bool refuses_key(std::string_view reply)
{
    return reply.find("to access one of the keys") != std::string_view::npos ||
           reply.find("to access a key") != std::string_view::npos || ends_with(reply, "' key");
}

// A Redis user's name as redis-cli reads it on a command line: as it is when it holds only
// letters, digits and _.:@-; else in double quotes, with \" and \\ escaped and any other byte
// outside printable ASCII as \xNN (a quote in it failed the line: "Invalid argument(s)").
std::string acl_user(std::string_view user)
{
    if (user.empty())
        return "default";
    bool plain = true;
    for (char ch : user)
        plain &= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '.' || ch == ':' || ch == '@' || ch == '-';
    if (plain)
        return std::string(user);
    return "\"" + escaped(user, {}, "\"\\") + "\"";
}

} // namespace

std::string refusal_hint(std::string_view last_error, std::string_view user,
                         std::string_view counter)
{
    if (refuses_login(last_error))
        return "Set ai_scale.redis_password, and ai_scale.redis_user for an ACL user, to a login "
               "this Redis accepts.";
    std::string_view reply = last_error;
    // The SELECT of ai_scale.redis_db that a new connection sends first: the refused command,
    // whether the reply names it or was withheld.
    const bool select = starts_with(reply, "SELECT: ");
    if (select)
        reply.remove_prefix(std::string_view("SELECT: ").size());
    const std::string who = acl_user(user);
    if (starts_with(reply, "NOPERM")) {
        const std::string_view command = select ? "select" : refused_command(reply);
        if (command.empty() && refuses_key(reply))
            return "Grant the Redis user ai_scale's keys: ACL SETUSER " + who + " ~ai_scale:*.";
        if (command.empty())
            // (A reply cut short, or withheld for repeating the password, names neither.) Two
            // lines: Redis refuses the whole of one that adds a key pattern to a user that has
            // every key (~* or allkeys), and grants nothing.
            return "Grant the Redis user the commands ai_scale uses: ACL SETUSER " + who +
                   " +get +mget +set +incrby +info; and, unless it has every key, ai_scale's "
                   "keys: ACL SETUSER " +
                   who + " ~ai_scale:*.";
        std::string upper(command);
        for (char& ch : upper)
            if (ch >= 'a' && ch <= 'z')
                ch = char(ch - 'a' + 'A');
        return "Grant the Redis user the command " + upper + ": ACL SETUSER " + who + " +" +
               std::string(command) + ".";
    }
    if (!counter.empty() && (starts_with(reply, "ERR value is not an integer") ||
                             starts_with(reply, "ERR increment or decrement would overflow") ||
                             starts_with(reply, "the counter is at ")))
        return "Key \"" + std::string(counter) +
               "\" holds a value ai_scale did not write. Delete the key: ai_scale then makes the "
               "counter again.";
    return {};
}

} // namespace ai_scale::cache
