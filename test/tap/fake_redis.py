#!/usr/bin/env python3
"""A misbehaving Redis for 026_cache_redis_limits.pl: fake_redis.py MODE PORT.

Listens on 127.0.0.1:PORT and answers every read from a client with what MODE says:
  drip        `$1000000\\r\\n`, then one byte every 50 ms, for as long as the client stays
  huge_array  `*2000000000\\r\\n` (an array of two billion elements), then nothing
  huge_bulk   `$400000000\\r\\n`, then bytes as fast as the client takes them
  silent      nothing at all
"""
import socket
import sys
import threading
import time


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
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
