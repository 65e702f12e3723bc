"""A TCP proxy on loopback that a test can cut and heal: the network between an agent and its broker.

``cut()`` drops every open connection and stops listening, so reconnects are refused (as when a
site's uplink is down); ``heal()`` listens again on the same port.  Threads: one accepting, one per
connection copying bytes both ways.  Nothing here knows about MQTT.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

_CHUNK = 65536
_POLL_S = 0.1


@dataclass
class ProxyCounters:
    accepted: int = 0
    refused_upstream: int = 0
    dropped: int = 0
    cuts: int = 0


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.counters = ProxyCounters()
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._cut = False
        self._closed = False
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones until :meth:`heal`."""
        with self._lock:
            self._cut = True
            self.counters.cuts += 1
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            _close(listener)
        for pair in pairs:
            pair.close()
        self.counters.dropped += len(pairs)

    def heal(self) -> None:
        with self._lock:
            if not self._cut:
                return
            self._listener = self._listen(self.port)
            self._cut = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cut()
        self._accepting.join(5)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def _listen(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The healed listener takes the same port again while the cut connections sit in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(64)
        sock.settimeout(_POLL_S)
        return sock

    def _accept_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                listener = self._listener
            if listener is None:
                threading.Event().wait(_POLL_S)
                continue
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                continue  # closed by cut() under our feet
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=2.0)
        except OSError:
            self.counters.refused_upstream += 1
            _close(client)
            return
        pair = _Pair(client, server, self._forget)
        with self._lock:
            if self._cut:
                # Accepted just before the cut: a cut network delivers nothing, so this one dies too.
                pair.close()
                return
            self._pairs.add(pair)
            self.counters.accepted += 1
        threading.Thread(target=pair.run, name="proxy-pair", daemon=True).start()

    def _forget(self, pair: _Pair) -> None:
        with self._lock:
            self._pairs.discard(pair)


class _Pair:
    def __init__(self, a: socket.socket, b: socket.socket, done: Callable[[_Pair], None]) -> None:
        self._a, self._b = a, b
        self._done = done
        self._closing = threading.Event()
        for sock in (a, b):
            sock.setblocking(False)

    def run(self) -> None:
        try:
            self._copy()
        except (OSError, ValueError):
            pass  # a socket closed under us (a cut, or a peer leaving): the pair is over either way
        finally:
            self.close()
            self._done(self)

    def _copy(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._a, selectors.EVENT_READ, self._b)
            sel.register(self._b, selectors.EVENT_READ, self._a)
            while not self._closing.is_set():
                for key, _ in sel.select(_POLL_S):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    dst: socket.socket = key.data
                    data = src.recv(_CHUNK)
                    if not data:
                        return
                    dst.setblocking(True)
                    dst.sendall(data)
                    dst.setblocking(False)

    def close(self) -> None:
        self._closing.set()
        for sock in (self._a, self._b):
            _close(sock)


def _close(sock: socket.socket) -> None:
    # shutdown() first: it wakes a thread blocked on the socket, and the peer sees the connection end now.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
