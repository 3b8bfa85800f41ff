// What a Redis error reply may say where other roles read it (redis_status()'s last_error, the
// 08006 detail, the server log). Pure C++, unit-tested in test/unit/test_error_text.cpp.
#pragma once

#include <string>
#include <string_view>

namespace ai_scale::cache {

// An error reply as text: bytes outside printable ASCII are written \xNN (Redis echoes a
// command's arguments in some errors, binary values included, and the text must be valid in
// any server encoding). When the reply repeats the start of secret (a Redis that does not know
// AUTH answers "unknown command 'AUTH', with args beginning with: '<password>'"), only its first
// word, the error code, is kept.
std::string redis_error_text(std::string_view reply, std::string_view secret);

// The text with every byte outside printable ASCII written \xNN (a backslash is left as it is,
// so that redis_error_text's escapes read the same), for text that other databases, of other
// encodings, read: the breakers' last error in shared memory holds connection errors too,
// which the C library words in the session's language and encoding ("Connexion refus\xe9e").
std::string ascii_text(std::string_view s);

// text ending a sentence, as a DETAIL wants it: with a period added unless it has one. Redis
// ends some replies with one ("NOAUTH Authentication required."), connection errors none.
std::string full_stop(std::string text);

// Whether an error reply refuses this command only, while the endpoint serves others: OOM (a
// full Redis under maxmemory-policy noeviction refuses writes, not reads), NOPERM (an ACL user
// lacking a command or key), MISCONF (writes stopped after a failed RDB save), NOREPLICAS
// (min-replicas-to-write: too few replicas linked, writes refused, reads served), WRONGTYPE
// (an application sharing the Redis database wrote one of ai_scale's keys; and "ERR value is not
// an integer or out of range", "ERR increment or decrement would overflow", INCRBY's words for a
// generation counter such an application wrote: counted, invalidating that model opened the
// breaker, and every model missed in Redis; test/tap/267_cache_counter_not_a_number.pl), "ERR
// unknown command" (renamed or disabled by rename-command: counted, the INFO that redis_status()
// and the replicas' sync check send opened the breaker of a primary serving GET and SET), and "ERR
// max number of clients reached" (maxclients: this new connection refused, the open ones served;
// counted, connections refused to new backends opened the breaker every backend shares, and those
// holding connections missed too). Such a reply fails the call but is no failure of the endpoint:
// counted toward its breaker, a stream of refused writes opened it and the reads it still answered
// were skipped too.
bool refuses_command_only(std::string_view reply);

// Whether an error reply is one only a Redis in cluster mode sends (MOVED, ASK, CROSSSLOT,
// CLUSTERDOWN, TRYAGAIN): ai_scale does not support Redis Cluster, and says so with the reply.
bool cluster_reply(std::string_view reply);

// Whether an error reply is Redis refusing a new connection at maxclients (then closing it).
bool refuses_connection(std::string_view reply);

// Whether an endpoint's last error (as its breaker keeps it) is Redis refusing to let this
// session in: the AUTH of a new connection refused (a wrong ai_scale.redis_password or
// redis_user: "AUTH: WRONGPASS ...", or a password given to a Redis that has none), or a command
// refused for want of one (NOAUTH: Redis has a password, and none is set; "SELECT: NOAUTH ..."
// when the refused command is the SELECT of ai_scale.redis_db).
bool refuses_login(std::string_view last_error);

// What to do about a refusal that failing over to another Redis or turning ai_scale.cache_strict
// off would not cure, for a HINT: the ACL SETUSER line for a NOPERM (user: the Redis user), a
// login this Redis accepts for a refused one, deleting counter (a generation counter's key) when
// it holds a value ai_scale did not write. Empty for any other error.
std::string refusal_hint(std::string_view last_error, std::string_view user,
                         std::string_view counter);

} // namespace ai_scale::cache
