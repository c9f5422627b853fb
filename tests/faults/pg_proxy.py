"""A TCP proxy in front of PostgreSQL that can lose the answer to a COMMIT.

Armed, it forwards the next COMMIT (simple or extended protocol) to the server, lets the
server commit, and then cuts the client's connection before the answer comes back: exactly
the "was my write saved?" case of a network fault between a service and its database.
Clients must not use TLS through it (PGSSLMODE=disable, PGGSSENCMODE=disable).
"""

import socket
import struct
import threading
import time
from typing import Self


class CommitAnswerDropper:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.dropped = 0
        self._closed = False

    def arm(self) -> None:
        """Lose the answer to the next COMMIT any client sends."""
        self._armed.set()

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            cut = threading.Event()
            threading.Thread(
                target=self._to_server, args=(client, server, cut), daemon=True
            ).start()
            threading.Thread(
                target=self._to_client, args=(server, client, cut), daemon=True
            ).start()

    def _to_server(
        self, client: socket.socket, server: socket.socket, cut: threading.Event
    ) -> None:
        try:
            startup = _read_exactly(client, 4)
            startup += _read_exactly(client, struct.unpack("!i", startup)[0] - 4)
            server.sendall(startup)
            committing = False
            while True:
                header = _read_exactly(client, 5)
                body = _read_exactly(client, struct.unpack("!i", header[1:])[0] - 4)
                kind = header[:1]
                if kind in (b"Q", b"P") and b"COMMIT" in body.upper() and self._armed.is_set():
                    self._armed.clear()
                    committing = True
                    cut.set()  # from now on the client hears nothing
                server.sendall(header + body)
                if committing and kind in (b"Q", b"S"):
                    time.sleep(0.3)  # let the server commit, then cut the line
                    self.dropped += 1
                    break
        except OSError:
            pass
        finally:
            _close(client)
            time.sleep(0.2)
            _close(server)

    def _to_client(
        self, server: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        try:
            while data := server.recv(65536):
                if cut.is_set():
                    return
                client.sendall(data)
        except OSError:
            pass


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
