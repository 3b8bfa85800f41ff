#!/usr/bin/env python3
"""A pass-through to a real Redis that moves bytes no faster than a set rate, each way:
pace_proxy.py PORT UPSTREAM_PORT BYTES_PER_SECOND.

Listens on 127.0.0.1:PORT and relays each connection to 127.0.0.1:UPSTREAM_PORT, in pieces of at
most 64 kB, each taking at least its size / BYTES_PER_SECOND (a sleep after it is sent): a value
of N bytes takes at least N / BYTES_PER_SECOND seconds to cross, however fast the machine, and
however long the connection sat idle before.
"""
import socket
import sys
import threading
import time

from fake_server import serve_forever

PIECE = 64 * 1024


def relay(source, sink, rate):
    try:
        while True:
            data = source.recv(PIECE)
            if not data:
                break
            start = time.monotonic()
            sink.sendall(data)
            left = start + len(data) / rate - time.monotonic()
            if left > 0:
                time.sleep(left)
    except OSError:
        pass
    finally:
        source.close()
        sink.close()


def serve(conn, upstream_port, rate):
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    threading.Thread(target=relay, args=(upstream, conn, rate), daemon=True).start()
    relay(conn, upstream, rate)


if __name__ == "__main__":
    port, upstream_port, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    serve_forever(port, serve, upstream_port, rate)
