#!/usr/bin/env python3
"""A Redis Sentinel whose answers a test sets, for 051_failover_redis_sentinel.pl and
294_cache_sentinel_settings_changed.pl: fake_sentinel.py PORT FILE.

Listens on 127.0.0.1:PORT. FILE holds host:port lines, read again for every request: the first
is the primary (SENTINEL get-master-addr-by-name), the others the replicas (SENTINEL replicas,
each up and linked), of any master name, or of master NAME only where FILE.NAME exists, which
then answers for it. A real sentinel decides when a failover happens and takes seconds to; with
this one the test switches the primary at the moment it chooses, by rewriting FILE.
"""
import os
import sys

from fake_server import serve_forever


def bulk(s):
    b = s.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def array(items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def answer(args, path):
    if len(args) >= 3 and os.path.exists(path + "." + args[2]):
        path = path + "." + args[2]
    with open(path) as f:
        nodes = [line.strip() for line in f if line.strip()]
    if len(args) >= 2 and args[0].upper() == "SENTINEL":
        what = args[1].lower()
        if what == "get-master-addr-by-name":
            if not nodes:
                return b"*-1\r\n"
            return array([bulk(part) for part in nodes[0].rsplit(":", 1)])
        if what in ("replicas", "slaves"):
            entries = []
            for node in nodes[1:]:
                ip, port = node.rsplit(":", 1)
                fields = ["name", node, "ip", ip, "port", port, "flags", "slave",
                          "master-link-status", "ok"]
                entries.append(array([bulk(x) for x in fields]))
            return array(entries)
    if args and args[0].upper() == "PING":
        return b"+PONG\r\n"
    return b"-ERR unknown command\r\n"


def commands(buf):
    """Parses the complete RESP arrays of bulk strings at the start of buf: (commands, rest)."""
    out = []
    while buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        if end < 0:
            break
        n, pos, args = int(buf[1:end]), end + 2, []
        for _ in range(n):
            end = buf.find(b"\r\n", pos)
            if end < 0 or buf[pos:pos + 1] != b"$":
                return out, buf
            size = int(buf[pos + 1:end])
            if len(buf) < end + 2 + size + 2:
                return out, buf
            args.append(buf[end + 2:end + 2 + size].decode())
            pos = end + 2 + size + 2
        if len(args) < n:
            break
        out.append(args)
        buf = buf[pos:]
    return out, buf


def serve(conn, path):
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            cmds, buf = commands(buf)
            conn.sendall(b"".join(answer(args, path) for args in cmds))
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    serve_forever(port, serve, path)


if __name__ == "__main__":
    main()
