"""The forward proxy every capture connection goes through, so the guard (casefile.capture.netguard) sees all of it.

Chromium's request interception is not enough: it is not consulted for redirects, and a page's WebSocket or a media
downloader opens its own connections. A proxy on loopback, started for one capture, is: HTTPS goes through CONNECT
as an opaque tunnel (the browser still checks and records the site's own certificate chain), plain HTTP is forwarded
with the request line rewritten to origin form and `Connection: close`. Each target is resolved and checked once and
the connection goes to the checked address. It also counts the bytes that come back, and cuts every connection once
the capture's size limit is passed.
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from casefile.capture.netguard import AddressRefused, AddressUnknown, Guard

MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT = 15.0
IDLE_TIMEOUT = 60.0
BUFFER = 64 * 1024
# Marks the proxy's own refusal of a plain-http address, so the capture never records it as the site's answer.
REFUSED_HEADER = "X-Casefile-Refused"


@dataclass
class Traffic:
    """What the proxy saw, for the capture record."""

    received: int = 0
    refused: list[str] = field(default_factory=list)  # "host: why", in order
    connections: dict[str, str] = field(default_factory=dict)  # host:port -> the address connected to
    over_limit: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _connect(addresses: list[str], port: int) -> tuple[socket.socket | None, str]:
    """A connection to the first checked address that answers (never to a name: it could resolve differently)."""
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=CONNECT_TIMEOUT), address
        except OSError:
            continue
    return None, ""


class _Handler(socketserver.BaseRequestHandler):
    server: GuardedProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(IDLE_TIMEOUT)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(BUFFER)
                if not chunk:
                    return
                head += chunk
                if len(head) > MAX_HEAD_BYTES:
                    self._answer(client, 431, "Request header too large")
                    return
        except OSError:
            return
        head, _sep, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self._answer(client, 400, "Bad request")
            return
        if method == "CONNECT":
            host, _colon, port_text = target.rpartition(":")
            self._tunnel(client, host, int(port_text) if port_text.isdigit() else 443, b"", rest, connect=True)
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            self._answer(client, 400, "Only http:// requests and CONNECT tunnels go through this proxy")
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = [
            line
            for line in lines[1:]
            if line.split(":", 1)[0].strip().lower() not in ("proxy-connection", "connection", "keep-alive")
        ]
        request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close", "", ""]).encode("latin-1")
        self._tunnel(client, parts.hostname, parts.port or 80, request, rest, connect=False)

    def _answer(self, client: socket.socket, status: int, reason: str, *, refused: bool = False) -> None:
        body = reason.encode("utf-8", "replace")
        marker = f"{REFUSED_HEADER}: 1\r\n" if refused else ""
        with contextlib.suppress(OSError):  # the client has gone: nothing to tell it
            client.sendall(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n{marker}Connection: close\r\n\r\n".encode("latin-1", "replace")
                + body
            )

    def _tunnel(
        self, client: socket.socket, host: str, port: int, request: bytes, rest: bytes, *, connect: bool
    ) -> None:
        traffic = self.server.traffic
        try:
            addresses = self.server.guard.addresses_for(host, port)
        except AddressUnknown as error:
            self._answer(client, 502, str(error).replace("\r", " ").replace("\n", " "))
            return
        except AddressRefused as error:
            with traffic.lock:
                traffic.refused.append(str(error))
            why = str(error).replace("\r", " ").replace("\n", " ")
            self._answer(client, 403, "Refused by Casefile: " + why, refused=True)
            return
        upstream, address = _connect(addresses, port)
        if upstream is None:
            self._answer(client, 502, f"Cannot connect to {host}")
            return
        with traffic.lock:
            traffic.connections[f"{host}:{port}"] = address
        with upstream:
            upstream.settimeout(IDLE_TIMEOUT)
            try:
                if connect:
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:
                    upstream.sendall(request)
                if rest:
                    upstream.sendall(rest)
                self._pipe(client, upstream)
            except OSError:
                return

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        traffic = self.server.traffic
        sockets = [client, upstream]
        while True:
            readable, _w, _x = select.select(sockets, [], [], IDLE_TIMEOUT)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(BUFFER)
                if not data:
                    return
                if sock is upstream:
                    with traffic.lock:
                        traffic.received += len(data)
                        if traffic.received > self.server.max_bytes:
                            traffic.over_limit = True
                            return
                    client.sendall(data)
                else:
                    upstream.sendall(data)


class GuardedProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, guard: Guard, max_bytes: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.guard = guard
        self.max_bytes = max_bytes
        self.traffic = Traffic()
        self._thread = threading.Thread(target=self.serve_forever, name="capture-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> GuardedProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
