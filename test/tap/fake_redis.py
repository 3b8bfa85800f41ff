#!/usr/bin/env python3
"""A misbehaving Redis for 026_cache_redis_limits.pl: fake_redis.py MODE PORT.

Listens on 127.0.0.1:PORT and answers every read from a client with what MODE says:
  drip        `$1000000\\r\\n`, then one byte every 50 ms, for as long as the client stays
  huge_array  `*2000000000\\r\\n` (an array of two billion elements), then nothing
  huge_bulk   `$400000000\\r\\n`, then bytes as fast as the client takes them
  silent      nothing at all
  odd_info    INFO: a role and a link status outside ASCII; any other command: a nil
  extra       a well-formed reply to each command (an array of nils to MGET, 1 to INCRBY, a
              nil to the rest), then one reply more, which nothing asked for
"""
import sys
import time

from fake_server import serve_forever


def commands(buf):
    """The whole commands at the start of buf (RESP arrays of bulk strings), and the rest."""
    done = []
    while buf.startswith(b"*"):
        try:
            end = buf.index(b"\r\n")
            args, at = [], end + 2
            for _ in range(int(buf[1:end])):
                end = buf.index(b"\r\n", at)
                size = int(buf[at + 1:end])
                if len(buf) < end + 2 + size + 2:
                    raise ValueError
                args.append(buf[end + 2:end + 2 + size])
                at = end + 2 + size + 2
        except ValueError:
            break
        done.append(args)
        buf = buf[at:]
    return done, buf


def reply_to(args):
    name = args[0].upper()
    if name == b"MGET":
        return b"*%d\r\n" % (len(args) - 1) + b"$-1\r\n" * (len(args) - 1)
    if name == b"INCRBY":
        return b":1\r\n"
    return b"$-1\r\n"


def serve(conn, mode):
    pending = b""
    try:
        while True:
            received = conn.recv(65536)
            if not received:
                break
            if mode == "extra":
                pending += received
                done, pending = commands(pending)
                if done:
                    conn.sendall(b"".join(reply_to(c) for c in done) + b"$-1\r\n")
                continue
            if mode == "drip":
                conn.sendall(b"$1000000\r\n")
                while True:
                    conn.sendall(b"x")
                    time.sleep(0.05)
            elif mode == "huge_array":
                conn.sendall(b"*2000000000\r\n")
            elif mode == "odd_info":
                body = b"# Replication\r\nrole:m\xe4ster\r\nmaster_link_status:\xe6\x97\r\n"
                conn.sendall(b"$%d\r\n%s\r\n" % (len(body), body))
            elif mode == "huge_bulk":
                conn.sendall(b"$400000000\r\n")
                chunk = b"x" * 65536
                for _ in range(400000000 // len(chunk)):
                    conn.sendall(chunk)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    serve_forever(port, serve, mode)


if __name__ == "__main__":
    main()
