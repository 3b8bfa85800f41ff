#!/usr/bin/env python3
"""A pass-through to a real Redis that can hold a value's reply back:
hold_proxy.py PORT UPSTREAM_PORT HOLD_FILE HELD_FILE [reads|writes|count].

Listens on 127.0.0.1:PORT and relays each connection to 127.0.0.1:UPSTREAM_PORT. While HOLD_FILE
exists, the reply to a read of a value (a GET of an ai_scale: key that is not a generation
counter; with `writes`, to a SET of one instead) is kept until HOLD_FILE is removed; HELD_FILE is
made when one is kept, so that a test knows the request has reached Redis and been answered
there. With `count`, nothing is held: each request that writes a value (a client's send holding
a SET of an ai_scale: key) adds a line to HELD_FILE, so that a test can count round trips.
"""
import os
import socket
import sys
import threading
import time

from fake_server import serve_forever


def held_request(request, what):
    """Whether the reply to request is one to hold back."""
    if b"ai_scale:" not in request or b":gen:" in request:
        return False
    return b"SET" in request if what == "writes" else b"GET" in request


def serve(conn, upstream_port, hold_file, held_file, what):
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    last_request = [b""]

    def to_client():
        try:
            while True:
                reply = upstream.recv(65536)
                if not reply:
                    break
                request = last_request[0]
                if what != "count" and os.path.exists(hold_file) and held_request(request, what):
                    open(held_file, "w").close()
                    while os.path.exists(hold_file):
                        time.sleep(0.01)
                conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=to_client, daemon=True).start()
    try:
        while True:
            request = conn.recv(65536)
            if not request:
                break
            if what == "count" and held_request(request, "writes"):
                with open(held_file, "a") as counted:
                    counted.write("1\n")
            last_request[0] = request
            upstream.sendall(request)
    except OSError:
        pass
    finally:
        upstream.close()


if __name__ == "__main__":
    port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    what = sys.argv[5] if len(sys.argv) > 5 else "reads"
    serve_forever(port, serve, upstream_port, sys.argv[3], sys.argv[4], what)
