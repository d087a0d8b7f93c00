"""A real HTTP server on loopback for tests: routes map a path to a response.

    with LocalServer() as srv:
        srv.route("/feed.xml", body=b"<rss>...", headers={"Content-Type": "application/rss+xml"})
        url = srv.url("/feed.xml")

A route may also be a callable ``handler(request) -> Response`` for dynamic behaviour (ETags,
slow bodies, counting connections). ``srv.requests`` records every request seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes | Callable[[Any], None] = b""  # bytes, or a writer(wfile) for streaming
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class LocalServer:
    """A threading HTTP server on 127.0.0.1 with a route table."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._serve(send_body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(send_body=False)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._serve(send_body=True)

            def _serve(self, send_body: bool) -> None:
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(req)
                path = self.path.split("?", 1)[0]
                handler = server.routes.get(self.path) or server.routes.get(path)
                resp = handler(req) if handler else Response(404, b"not found")
                try:
                    self.send_response(resp.status)
                    headers = dict(resp.headers)
                    if isinstance(resp.body, bytes):
                        headers.setdefault("Content-Length", str(len(resp.body)))
                    else:
                        headers["Connection"] = "close"
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if send_body:
                        if isinstance(resp.body, bytes):
                            self.wfile.write(resp.body)
                        else:
                            resp.body(self.wfile)
                            self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", *, status: int = 200,
              headers: dict[str, str] | None = None, handler: Handler | None = None) -> None:
        if handler is None:
            data = body.encode() if isinstance(body, str) else body
            fixed = Response(status, data, dict(headers or {}))
            handler = lambda _req: fixed  # noqa: E731
        self.routes[path] = handler

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ConcurrencyProbe:
    """A route handler that holds each request for ``delay`` seconds and records the most
    requests it saw in flight at once (``peak``): how a test observes a per-host limit."""

    def __init__(self, response: Response, delay: float = 0.3) -> None:
        self.response, self.delay = response, delay
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, _req: Request) -> Response:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.delay)
        with self._lock:
            self.now -= 1
        return self.response
