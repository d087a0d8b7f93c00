"""A loopback HTTP server for the offline demo: serves the feeds and pages in ``monitor/demo_data``.

    with DemoServer() as demo:
        urls = demo.feed_urls()          # ['http://127.0.0.1:PORT/sustainability.xml', ...]
        page = demo.url("/articles/unilever-emissions-fall.html")

The content was written for this project (figures are illustrative). Feeds and pages carry a
``{base}`` placeholder that is replaced with the server's own ``http://127.0.0.1:PORT`` when served,
so entry links point back at this server. Only the files below ``demo_data`` with a known type are
served; every other path is a 404. The pipeline itself is run by the CLI, not here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import MonitorError

BASE_PLACEHOLDER = "{base}"

# Suffix -> Content-Type; the longest matching suffix wins (".atom.xml" before ".xml").
CONTENT_TYPES: dict[str, str] = {
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".feed.json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
FEED_SUFFIXES = (".atom.xml", ".rss.xml", ".xml", ".feed.json")


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One servable file: its URL path, raw text (with ``{base}``) and Content-Type."""

    path: str
    text: str
    content_type: str

    @property
    def is_feed(self) -> bool:
        """True for feed documents at the top of ``demo_data``."""
        return self.path.count("/") == 1 and self.path.endswith(FEED_SUFFIXES)


def content_type_for(name: str) -> str | None:
    """The Content-Type for a file name, or None when the demo does not serve that kind of file."""
    for suffix in sorted(CONTENT_TYPES, key=len, reverse=True):
        if name.endswith(suffix):
            return CONTENT_TYPES[suffix]
    return None


def demo_data_root() -> Traversable:
    """The packaged ``monitor/demo_data`` folder (works from a checkout and when installed)."""
    return files("monitor") / "demo_data"


def load_demo_files(root: Traversable | None = None) -> dict[str, DemoFile]:
    """Every servable file below ``root``, keyed by URL path ('/articles/x.html').

    Files whose names start with '_' or '.' and files of unknown type are left out.
    """
    root = demo_data_root() if root is None else root
    found: dict[str, DemoFile] = {}
    _collect(root, "", found)
    if not any(f.is_feed for f in found.values()):
        raise MonitorError(f"demo data: no feeds found in {root}")
    return found


def _collect(folder: Traversable, prefix: str, found: dict[str, DemoFile]) -> None:
    for item in folder.iterdir():
        if item.name.startswith(("_", ".")):
            continue
        path = f"{prefix}/{item.name}"
        if item.is_dir():
            _collect(item, path, found)
            continue
        ctype = content_type_for(item.name)
        if ctype is not None:
            found[path] = DemoFile(path=path, text=item.read_text(encoding="utf-8"), content_type=ctype)


class DemoServer:
    """Serves the demo feeds and article pages on 127.0.0.1 from a daemon thread.

    Use as a context manager, or call ``start()`` and ``stop()``. ``port=0`` picks a free port.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._files = load_demo_files()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._httpd is None:
            raise MonitorError("demo server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` ('/articles/x.html' or 'articles/x.html') on this server."""
        return self.base_url + "/" + path.lstrip("/")

    def feed_urls(self) -> list[str]:
        """The URLs of the demo feeds, sorted by path."""
        return [self.url(p) for p in sorted(self._files) if self._files[p].is_feed]

    def article_urls(self) -> list[str]:
        """The URLs of the demo article pages, sorted by path."""
        return [self.url(p) for p in sorted(self._files) if p.startswith("/articles/")]

    def body(self, path: str) -> bytes | None:
        """The served bytes of ``path`` with ``{base}`` replaced, or None when it is not served."""
        f = self._files.get(path)
        if f is None:
            return None
        return f.text.replace(BASE_PLACEHOLDER, self.base_url).encode("utf-8")

    def start(self) -> DemoServer:
        """Bind the port and start serving; returns self."""
        if self._httpd is not None:
            return self
        try:
            self._httpd = ThreadingHTTPServer((self._host, self._port), _make_handler(self))
        except OSError as e:
            raise MonitorError(f"demo server: cannot listen on {self._host}:{self._port}: {e}") from None
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="pledgewatch-demo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def content_type(self, path: str) -> str | None:
        """The Content-Type served for ``path``, or None when it is not served."""
        f = self._files.get(path)
        return f.content_type if f is not None else None


def _make_handler(server: DemoServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "PledgewatchDemo/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, *, send_body: bool) -> None:
            path = urlsplit(self.path).path
            body, ctype = server.body(path), server.content_type(path)
            if body is None or ctype is None:
                self._send(404, b"404 Not Found\n", "text/plain; charset=utf-8", send_body)
            else:
                self._send(200, body, ctype, send_body)

        def _send(self, status: int, body: bytes, ctype: str, send_body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

    return _Handler
