"""A loopback TCP proxy that a test stops, cuts and starts again to fake an outage."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


def free_port() -> int:
    """Return a loopback port that nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpProxy:
    """Forward connections from ``127.0.0.1:port`` to ``127.0.0.1:target_port``.

    ``stop`` closes the listening socket and cuts every open connection, so a
    client sees a refused connection or a reset. ``start`` listens again on the
    same port. With ``stall=True`` the proxy accepts connections but forwards
    nothing and never answers, like a server that hangs.
    """

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    def start(self, stall: bool = False) -> TcpProxy:
        if self._listener is not None:
            raise RuntimeError("the proxy is already running")
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(
            target=self._accept_loop, args=(listener, stall), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and reset every connection that is open."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            _reset(connection)

    def _accept_loop(self, listener: socket.socket, stall: bool) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while self._running.is_set():
                if not selector.select(timeout=0.1):
                    continue
                try:
                    client, _address = listener.accept()
                except OSError:
                    return
                self.accepted += 1
                self._track(client)
                if stall:
                    continue  # held open, never read, never answered
                try:
                    upstream = socket.create_connection(
                        ("127.0.0.1", self.target_port), timeout=10
                    )
                except OSError:
                    _reset(client)
                    continue
                upstream.settimeout(None)
                self._track(upstream)
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(
                        target=self._pump, args=(source, sink), daemon=True
                    ).start()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for connection in (source, sink):
                with self._lock:
                    self._connections.discard(connection)
                _reset(connection)


def _reset(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()
