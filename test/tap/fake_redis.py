#!/usr/bin/env python3
"""A misbehaving Redis for 026_cache_redis_limits.pl: fake_redis.py MODE PORT.

Listens on 127.0.0.1:PORT and answers every read from a client with what MODE says:
  drip        `$1000000\\r\\n`, then one byte every 50 ms, for as long as the client stays
  huge_array  `*2000000000\\r\\n` (an array of two billion elements), then nothing
  huge_bulk   `$400000000\\r\\n`, then bytes as fast as the client takes them
  silent      nothing at all
  odd_info    INFO: a role and a link status outside ASCII; any other command: a nil
"""
import sys
import time

from fake_server import serve_forever


def serve(conn, mode):
    try:
        while conn.recv(65536):
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
