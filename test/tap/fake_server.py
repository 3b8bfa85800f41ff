"""What the fake servers the TAP tests start share: a loopback listener that serves each
connection on a thread of its own."""
import socket
import threading


def serve_forever(port, serve, *args):
    """Accepts connections on 127.0.0.1:port; each runs serve(conn, *args) on its own thread."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, *args), daemon=True).start()
