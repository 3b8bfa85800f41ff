#include "cache/redis_client.hpp"
#include "cache/endpoint_address.hpp"
#include "cache/error_text.hpp"
#include "cache/fd_wait.hpp"
#include "cache/host_lookup.hpp"
#include "cache/l2_format.hpp"
#include "cache/resp_limits.hpp"
#include "cache/transfer_allowance.hpp"
#include "cache/unix_socket.hpp"
#include "guc.hpp"

#include <hiredis/hiredis.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <unordered_map>

namespace ai_scale::cache {

namespace {

using steady = std::chrono::steady_clock;

// What a value read back may take besides its payload (l2_format.hpp's header).
constexpr uint64_t value_overhead = 1024;

struct connection {
    redisContext* ctx = nullptr;
    // The settings it was made with; a change makes a new connection.
    std::string user;
    std::string password;
    int db = 0;
    int timeout_ms = 0;
    // Whether Redis has answered on it yet (see throw_closed, for a close before any reply).
    bool answered = false;
    // When it was last handed out: only a connection idle longer than idle_check is looked at
    // before reuse.
    std::chrono::steady_clock::time_point last_used;
};

// A connection used within this long is reused without a look (a syscall per round trip); if
// Redis closed it all the same, the request is sent again on a new one (closed_before_reply).
constexpr std::chrono::seconds idle_check{1};

std::unordered_map<std::string, connection> connections;

// The connection was found closed (or reset) before any byte of a reply arrived: Redis closed
// it while it sat in the pool (its idle timeout, CLIENT KILL, a restart), not while working on
// this request. A reused connection is then remade and the request sent again, once.
struct closed_before_reply : redis_failure {
    using redis_failure::redis_failure;
};

bool closed_errno(int e)
{
    return e == EPIPE || e == ECONNRESET || e == ENOTCONN;
}
void (*wait_hook)() = nullptr;

void drop(connection& c)
{
    if (c.ctx)
        redisFree(c.ctx);
    c.ctx = nullptr;
}

[[noreturn]] void fail(connection& c, const std::string& msg)
{
    drop(c);
    throw redis_failure(msg);
}

// Waits until the connection's socket is ready for events or the deadline passes (false),
// checking for a cancel (which throws) at every wake; a failing poll() drops the connection.
bool wait_for(connection& c, short events, steady::time_point deadline)
{
    try {
        return wait_for_fd(c.ctx->fd, events, deadline, wait_hook);
    } catch (const redis_failure&) {
        drop(c);
        throw;
    }
}

// Polls the socket for up to redis_spin_us (never past the deadline), yielding the CPU between
// polls, so that a reply arriving within that time is read without the backend going to sleep
// (on a VM, waking an idle CPU costs tens of microseconds).
void spin_for_reply(connection& c, steady::time_point deadline)
{
    const auto until =
        std::min(deadline, steady::now() + std::chrono::microseconds(guc::redis_spin_us));
    char byte;
    while (recv(c.ctx->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
           (errno == EAGAIN || errno == EWOULDBLOCK) && steady::now() < until)
        sched_yield();
}

// Polling pays for a request whose reply comes back at once: one command on at most a couple
// of keys (GET, a SET, INFO). For a batch (an MGET of 100 values, pipelined writes) Redis takes
// long enough assembling the reply that the poll only takes CPU from it: measured 7% slower
// for a 100-key cache_get_many at 2 clients on 2 cores.
bool worth_spinning(const std::vector<command>& cmds)
{
    return guc::redis_spin_us > 0 && cmds.size() == 1 && cmds[0].size() <= 5;
}

// A Redis at maxclients answers a new connection's first command with its refusal and closes
// it: the rest of a pipeline (predict's fills) gets no reply. That close is no failure of the
// endpoint (refuses_command_only); counted as one, it opened the breaker every backend shares.
void throw_refusal(const std::vector<reply_ptr>& replies, const std::string& password)
{
    if (replies.empty() || replies[0]->type != REDIS_REPLY_ERROR)
        return;
    const std::string_view reply(replies[0]->str, replies[0]->len);
    if (refuses_connection(reply))
        throw redis_refused(redis_error_text(reply, password));
}

// Puts the commands in the connection's output buffer, each as the RESP array of bulk strings
// redisAppendCommandArgv writes. That formatted each command into a buffer of its own and then
// copied it into the output buffer: a cache_put of a 60 MB output held it twice there, besides
// the command's own copy. Here the small words of all the commands are gathered in one buffer,
// and a large word, or a large part of one (what it borrows), goes from where it lies straight
// into the output buffer.
void append_commands(connection& c, const std::vector<command>& cmds)
{
    constexpr size_t copied_whole = 16 * 1024; // a part of this size or more is not gathered
    std::string gathered;
    auto append = [&](const char* bytes, size_t len) {
        if (len != 0 && redisAppendFormattedCommand(c.ctx, bytes, len) != REDIS_OK)
            fail(c, c.ctx->errstr);
    };
    auto header = [&](char type, size_t n) {
        gathered += type;
        gathered += std::to_string(n);
        gathered += "\r\n";
    };
    auto put = [&](std::string_view part) {
        if (part.size() >= copied_whole) {
            append(gathered.data(), gathered.size());
            gathered.clear();
            append(part.data(), part.size());
        } else {
            gathered += part;
        }
    };
    for (const auto& cmd : cmds) {
        header('*', cmd.size());
        for (const word& w : cmd) {
            header('$', w.size());
            put(w.bytes);
            put(w.borrowed);
            gathered += "\r\n";
        }
    }
    append(gathered.data(), gathered.size());
}

// Writes the output buffer out, waiting for the socket as needed until the deadline.
void send_commands(connection& c, steady::time_point deadline)
{
    int done = 0;
    while (!done) {
        if (redisBufferWrite(c.ctx, &done) != REDIS_OK) {
            std::string msg = c.ctx->errstr;
            drop(c);
            if (closed_errno(errno))
                throw closed_before_reply(msg);
            throw redis_failure(msg);
        }
        if (!done && !wait_for(c, POLLOUT, deadline))
            fail(c, "timed out sending to redis");
    }
}

// Redis closed the connection while replies were due; received says whether any byte of them
// had arrived.
[[noreturn]] void throw_closed(connection& c, bool received, const std::vector<reply_ptr>& replies)
{
    drop(c);
    // Closed before the first reply a new connection ever got: no Redis speaking plain RESP
    // there. A port that wants TLS does that (Redis logs "wrong version number"), and
    // "connection closed by redis" alone did not say so.
    if (!received && !c.answered)
        throw closed_before_reply("connection closed by redis before its first reply (ai_scale "
                                  "does not use TLS: is this a port that wants TLS?)");
    if (!received)
        throw closed_before_reply("connection closed by redis");
    throw_refusal(replies, c.password);
    throw redis_failure("connection closed by redis");
}

// Reads one reply per command, waiting for the socket as needed until the deadline plus the
// transfer allowance of the values announced so far.
std::vector<reply_ptr> read_replies(connection& c, const std::vector<command>& cmds,
                                    steady::time_point deadline)
{
    resp_scanner scan(limits_for(cmds, max_output_bytes + value_overhead));
    std::vector<reply_ptr> replies;
    replies.reserve(cmds.size());
    char buf[16 * 1024];
    bool received = false;
    while (replies.size() < cmds.size()) {
        void* r = nullptr;
        if (redisReaderGetReply(c.ctx->reader, &r) != REDIS_OK)
            fail(c, c.ctx->reader->errstr);
        if (r != nullptr) {
            replies.emplace_back(static_cast<redisReply*>(r));
            continue;
        }
        ssize_t n = read(c.ctx->fd, buf, sizeof buf);
        if (n > 0) {
            received = true;
            if (!scan.feed(buf, size_t(n)))
                fail(c, "refused reply: " + scan.why());
            if (redisReaderFeed(c.ctx->reader, buf, size_t(n)) != REDIS_OK)
                fail(c, c.ctx->reader->errstr);
        } else if (n == 0 || (!received && closed_errno(errno))) {
            throw_closed(c, received, replies);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!wait_for(c, POLLIN, deadline + transfer_allowance(scan.announced_bulk_bytes())))
                fail(c, "timed out waiting for redis");
        } else {
            const std::string msg = std::string("read: ") + std::strerror(errno);
            drop(c);
            throw_refusal(replies, c.password);
            throw redis_failure(msg);
        }
    }
    // Bytes past the last reply asked for: a server (or something between) that sends more than
    // one reply per command. Left in the reader, they were read as the next command's reply, on
    // this connection for good, and a value answered for the key asked after it.
    if (c.ctx->reader->pos != c.ctx->reader->len)
        fail(c, "redis sent more replies than the commands it was sent");
    return replies;
}

// Gives the connection a new reader once every byte of the old one's buffer has been read, when
// that buffer holds more than its maxbuf. hiredis grows it to the largest reply it took in (a
// 64 MB value, or an MGET's largest) and frees it only when the next bytes are fed to it: a
// session that read one large value kept that much for as long as it made no other round trip
// on the connection. ai_scale sets nothing on a reader: a new one is the one hiredis makes.
void release_read_buffer(connection& c)
{
    redisReader* r = c.ctx->reader;
    if (r->pos != r->len || r->maxbuf == 0 || sdsalloc(r->buf) <= r->maxbuf)
        return;
    redisReader* fresh = redisReaderCreate();
    if (fresh == nullptr)
        return;
    redisReaderFree(r);
    c.ctx->reader = fresh;
}

// Sends the commands and reads their replies, all within one redis_timeout_ms plus the transfer
// allowance of the bytes sent and of the values announced (transfer_allowance.hpp). The replies
// are checked against resp_limits as they arrive, before hiredis reads them. Any failure (or a
// cancel) drops the connection: it may be in the middle of a reply, or its output buffer hold
// part of a command (append_commands out of memory between two parts), which the next use of
// the pooled connection would have sent before its own.
std::vector<reply_ptr> exchange(connection& c, const std::vector<command>& cmds)
{
    auto deadline = steady::now() + std::chrono::milliseconds(guc::redis_timeout_ms);
    try {
        append_commands(c, cmds);
        deadline += transfer_allowance(sdslen(c.ctx->obuf));
        send_commands(c, deadline);
        if (worth_spinning(cmds))
            spin_for_reply(c, deadline);
        std::vector<reply_ptr> replies = read_replies(c, cmds, deadline);
        release_read_buffer(c);
        c.answered = true;
        return replies;
    } catch (...) {
        drop(c);
        throw;
    }
}

// Runs one command on a fresh connection during setup; throws on an error reply.
void setup_command(connection& c, const command& cmd, const char* what)
{
    std::vector<reply_ptr> replies;
    try {
        replies = exchange(c, {cmd});
    } catch (const redis_failure& e) {
        throw redis_failure(std::string(what) + ": " + e.what());
    }
    const redisReply* r = replies[0].get();
    if (r->type == REDIS_REPLY_ERROR) {
        const std::string_view reply(r->str, r->len);
        std::string msg = std::string(what) + ": " + redis_error_text(reply, c.password);
        drop(c);
        // maxclients refuses the connection before its AUTH or SELECT, not the endpoint.
        if (refuses_connection(reply))
            throw redis_refused(msg);
        throw redis_failure(msg);
    }
}

// Makes the socket non-blocking: exchange() waits with poll, within its deadline, instead of
// hiredis's per-read SO_RCVTIMEO (which a server sending a byte now and then never trips).
void make_nonblocking(connection& c)
{
    int flags = fcntl(c.ctx->fd, F_GETFL);
    if (flags < 0 || fcntl(c.ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0)
        fail(c, std::string("fcntl: ") + std::strerror(errno));
    c.ctx->flags &= ~REDIS_BLOCK;
}

// Whether a pooled connection still looks usable: Redis has not closed it (a FIN already here
// reads as 0 bytes) and sent nothing unasked.
bool still_open(connection& c)
{
    char byte;
    ssize_t n = recv(c.ctx->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// A TCP connection to one of addresses (tried in turn), made within the deadline: a
// non-blocking connect and a wait in poll() that calls the wait hook at every wake (hiredis's
// connect waited without looking at Postgres's interrupts). Returns the socket, or throws
// redis_failure with the last address's error.
int open_socket(const std::vector<socket_address>& addresses, steady::time_point deadline)
{
    int error = ETIMEDOUT;
    for (const auto& a : addresses) {
        const int fd = ::socket(a.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = errno;
            continue;
        }
        struct closer {
            int fd;
            ~closer()
            {
                if (fd >= 0)
                    close(fd);
            }
        } guard{fd};
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0) {
            error = errno;
            if (error != EINPROGRESS)
                continue;
            if (!wait_for_fd(fd, POLLOUT, deadline, wait_hook))
                throw redis_failure(std::string("connect: ") + std::strerror(ETIMEDOUT));
            socklen_t len = sizeof error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
                error = errno;
            if (error != 0)
                continue;
        }
        // As hiredis set it: a small command is sent at once, not held for the next.
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        guard.fd = -1;
        return fd;
    }
    throw redis_failure(std::string("connect: ") + std::strerror(error));
}

// Whether a pooled connection must be dropped rather than reused: it failed, it was made with
// other credentials or another redis_timeout_ms, or it sat idle long enough to be checked and
// Redis has closed it.
bool stale(connection& c, const credentials& wanted, steady::time_point now)
{
    return c.ctx->err || c.user != wanted.user || c.password != wanted.password ||
           c.db != wanted.db || c.timeout_ms != guc::redis_timeout_ms ||
           (now - c.last_used > idle_check && !still_open(c));
}

// A connected socket to endpoint. The settings' check refused what this cannot read; a
// sentinel's answer is checked too. A socket path is connected to (unix_socket.hpp); a host
// name is looked up, and the connection made, within redis_timeout_ms each, waiting in poll()
// with the wait hook called at every wake: a cancel pending before, or arriving during either
// wait, is taken as the cancel it is, not counted as the endpoint failing.
int dial(const std::string& endpoint)
{
    endpoint_problem problem;
    const auto address = parse_endpoint(endpoint, &problem);
    if (!address)
        throw redis_failure(problem.message);
    if (wait_hook)
        wait_hook();
    try {
        if (!address->path.empty())
            return connect_unix_socket(
                address->path, steady::now() + std::chrono::milliseconds(guc::redis_timeout_ms),
                wait_hook);
        const auto addresses = lookup_host(
            address->host, address->port,
            steady::now() + std::chrono::milliseconds(guc::redis_timeout_ms), wait_hook);
        return open_socket(addresses,
                           steady::now() + std::chrono::milliseconds(guc::redis_timeout_ms));
    } catch (const redis_failure&) {
        if (wait_hook)
            wait_hook();
        throw;
    }
}

// Hands the socket fd to hiredis as c's context, non-blocking.
void attach(connection& c, int fd)
{
    c.ctx = redisConnectFd(fd);
    if (c.ctx == nullptr) {
        close(fd);
        throw redis_failure("cannot allocate a Redis connection");
    }
    if (c.ctx->err) {
        const std::string msg = std::string("connect: ") + c.ctx->errstr;
        drop(c);
        throw redis_failure(msg);
    }
    make_nonblocking(c);
}

// Records the settings c is made with, and logs in: AUTH user password (Redis 6 ACL) with a
// user name, else the password alone; then SELECT the database when it is not 0.
void log_in(connection& c, credentials&& cred)
{
    c.answered = false;
    c.user = std::move(cred.user);
    c.password = std::move(cred.password);
    c.db = cred.db;
    c.timeout_ms = guc::redis_timeout_ms;
    if (!c.user.empty())
        setup_command(c, {"AUTH", c.user, c.password}, "AUTH");
    else if (!c.password.empty())
        setup_command(c, {"AUTH", c.password}, "AUTH");
    if (c.db != 0)
        setup_command(c, {"SELECT", std::to_string(c.db)}, "SELECT");
}

connection& connect(const std::string& endpoint, endpoint_kind kind, bool* reused)
{
    connection& c = connections[endpoint];
    credentials cred = credentials_for(kind);
    const auto now = std::chrono::steady_clock::now();
    if (c.ctx && stale(c, cred, now))
        drop(c);
    c.last_used = now;
    *reused = c.ctx != nullptr;
    if (*reused)
        return c;
    attach(c, dial(endpoint));
    log_in(c, std::move(cred));
    return c;
}

} // namespace

credentials credentials_for(endpoint_kind kind)
{
    if (kind != endpoint_kind::data)
        return {};
    return {guc::redis_user ? guc::redis_user : "", guc::redis_password, guc::redis_db};
}

void reply_deleter::operator()(redisReply* r) const
{
    freeReplyObject(r);
}

void redis_set_wait_hook(void (*hook)())
{
    wait_hook = hook;
}

std::vector<reply_ptr> redis_run(const std::string& endpoint, const std::vector<command>& cmds,
                                 endpoint_kind kind)
{
    bool reused = false;
    std::vector<reply_ptr> replies;
    std::string password;
    try {
        connection& c = connect(endpoint, kind, &reused);
        password = c.password;
        replies = exchange(c, cmds);
    } catch (const closed_before_reply&) {
        if (!reused)
            throw;
        replies = exchange(connect(endpoint, kind, &reused), cmds);
    }
    for (const auto& r : replies)
        if (r->type == REDIS_REPLY_ERROR) {
            // The connection is still in step (every reply was read); keep it.
            const std::string_view reply(r->str, r->len);
            if (refuses_command_only(reply))
                throw redis_refused(redis_error_text(reply, password));
            // "MOVED 3999 10.0.0.2:6379" alone does not tell a user what to change.
            if (cluster_reply(reply))
                throw redis_failure("Redis Cluster is not supported: " +
                                    redis_error_text(reply, password));
            throw redis_failure(redis_error_text(reply, password));
        }
    return replies;
}

std::optional<std::string> reply_string(const redisReply* r)
{
    if (r->type == REDIS_REPLY_STRING)
        return std::string(r->str, r->len);
    return std::nullopt;
}

std::vector<std::optional<std::string>> reply_strings(const redisReply* r)
{
    std::vector<std::optional<std::string>> out;
    if (r->type != REDIS_REPLY_ARRAY)
        return out;
    for (size_t i = 0; i < r->elements; i++)
        out.push_back(reply_string(r->element[i]));
    return out;
}

void redis_disconnect_others(const std::vector<std::string>& keep)
{
    for (auto it = connections.begin(); it != connections.end();) {
        if (std::find(keep.begin(), keep.end(), it->first) != keep.end()) {
            ++it;
            continue;
        }
        drop(it->second);
        it = connections.erase(it);
    }
    std::vector<std::string> hosts;
    for (const auto& endpoint : keep) {
        endpoint_problem problem;
        if (auto address = parse_endpoint(endpoint, &problem); address && !address->host.empty())
            hosts.push_back(address->host);
    }
    forget_lookups_except(hosts);
}

void redis_disconnect_all()
{
    for (auto& [name, c] : connections)
        drop(c);
    connections.clear();
}

} // namespace ai_scale::cache
