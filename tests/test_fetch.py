"""monitor.fetch against a real HTTP server on loopback (tests/server.py)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.config import FetchConfig
from monitor.errors import FetchError
from monitor.fetch import Fetcher, FetchResult, RobotsDisallowed, is_public_address, parse_retry_after
from tests.server import ConcurrencyProbe, Request, Response


def fetcher(**kw) -> Fetcher:
    base = {"allow_private_addresses": True, "timeout": 5.0, "connect_timeout": 2.0}
    base.update(kw)
    return Fetcher(FetchConfig(**base))


def test_200_returns_body_headers_and_user_agent(http_server):
    http_server.route("/feed.xml", b"<rss/>", headers={"Content-Type": "application/rss+xml", "X-Thing": "1"})
    with fetcher(user_agent="pw-test/1 (+http://example.invalid)") as f:
        r = f.get(http_server.url("/feed.xml"))
    assert isinstance(r, FetchResult)
    assert (r.status, r.body, r.not_modified, r.permanent_url) == (200, b"<rss/>", False, None)
    assert r.headers["content-type"] == "application/rss+xml" and r.headers["x-thing"] == "1"
    assert r.final_url == r.url == http_server.url("/feed.xml")
    assert r.elapsed > 0
    assert http_server.requests[-1].headers["user-agent"] == "pw-test/1 (+http://example.invalid)"


def _conditional_handler(etag: str, last_modified: str):
    def handler(req: Request) -> Response:
        if req.headers.get("if-none-match") == etag or req.headers.get("if-modified-since") == last_modified:
            return Response(304, b"", {"ETag": etag})
        return Response(200, b"<rss>v1</rss>", {"ETag": etag, "Last-Modified": last_modified})
    return handler


def test_conditional_get_round_trip_with_etag_and_last_modified(http_server):
    lm = "Wed, 21 Oct 2015 07:28:00 GMT"
    http_server.route("/c", handler=_conditional_handler('"abc"', lm))
    with fetcher() as f:
        first = f.get(http_server.url("/c"))
        assert (first.status, first.etag, first.last_modified) == (200, '"abc"', lm)
        again = f.get(http_server.url("/c"), etag=first.etag)
        assert again.not_modified and again.status == 304 and again.body == b""
        assert http_server.requests[-1].headers["if-none-match"] == '"abc"'
        by_date = f.get(http_server.url("/c"), last_modified=first.last_modified)
        assert by_date.not_modified
        assert http_server.requests[-1].headers["if-modified-since"] == lm
        stale = f.get(http_server.url("/c"), etag='"old"')
        assert not stale.not_modified and stale.body == b"<rss>v1</rss>"


def test_301_is_recorded_as_permanent_and_302_is_not(http_server):
    http_server.route("/new", b"here")
    http_server.route("/moved", status=301, headers={"Location": "/new"})
    http_server.route("/found", status=302, headers={"Location": http_server.url("/new")})
    http_server.route("/chain", status=308, headers={"Location": "/found"})
    with fetcher() as f:
        moved = f.get(http_server.url("/moved"))
        found = f.get(http_server.url("/found"))
        chain = f.get(http_server.url("/chain"))
    assert moved.body == b"here" and moved.final_url == http_server.url("/new")
    assert moved.permanent_url == http_server.url("/new")
    assert found.final_url == http_server.url("/new") and found.permanent_url is None
    # a 308 then a 302: only the permanent part of the chain is for good
    assert chain.permanent_url == http_server.url("/found") and chain.final_url == http_server.url("/new")


def test_redirect_loop_and_too_many_redirects_raise(http_server):
    http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=302, headers={"Location": "/a"})
    for i in range(6):
        http_server.route(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    http_server.route("/r6", b"end")
    with fetcher(max_redirects=3) as f:
        with pytest.raises(FetchError, match="redirect loop") as loop:
            f.get(http_server.url("/a"))
        assert loop.value.url == http_server.url("/a")
        with pytest.raises(FetchError, match="too many redirects"):
            f.get(http_server.url("/r0"))
    with fetcher(max_redirects=6) as f:
        assert f.get(http_server.url("/r0")).body == b"end"


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_status_raises_with_status(http_server, status):
    http_server.route("/x", b"nope", status=status)
    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(http_server.url("/x"))
    assert err.value.status == status
    assert err.value.url == http_server.url("/x")
    assert http_server.url("/x") in str(err.value)


def test_429_and_503_retry_after_parsed(http_server):
    http_server.route("/slow-down", status=429, headers={"Retry-After": "120"})
    when = datetime.now(UTC) + timedelta(hours=1)
    http_server.route("/maint", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with fetcher() as f:
        with pytest.raises(FetchError) as e429:
            f.get(http_server.url("/slow-down"))
        with pytest.raises(FetchError) as e503:
            f.get(http_server.url("/maint"))
    assert e429.value.status == 429 and e429.value.retry_after == 120.0
    assert e503.value.status == 503 and 3500 < e503.value.retry_after <= 3600


def test_parse_retry_after_forms():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def _trickle(wfile) -> None:
    for _ in range(20):
        wfile.write(b"x")
        wfile.flush()
        time.sleep(1.0)


def test_trickling_body_ends_within_total_timeout(http_server):
    http_server.route("/trickle", handler=lambda _r: Response(200, _trickle, {"Content-Type": "text/plain"}))
    with fetcher(timeout=2.0) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            f.get(http_server.url("/trickle"))
    assert time.monotonic() - started < 10  # far below the 20 s the server would take


def test_trickling_headers_end_within_total_timeout():
    """A server that sends its status line and then one header line a second, for ever."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for i in range(20):
                if stop.is_set():
                    return
                try:
                    conn.sendall(f"X-Slow-{i}: y\r\n".encode())
                except OSError:
                    return
                time.sleep(0.5)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with fetcher(timeout=2.0) as f:
            started = time.monotonic()
            with pytest.raises(FetchError, match="timed out"):
                f.get(f"http://127.0.0.1:{port}/")
            assert time.monotonic() - started < 6
    finally:
        stop.set()
        listener.close()
        t.join(timeout=5)


def _huge(wfile) -> None:
    chunk = b"a" * (1 << 20)
    for _ in range(300):  # 300 MB if anyone kept reading
        wfile.write(chunk)


def test_body_larger_than_max_bytes_refused_while_streaming(http_server):
    http_server.route("/huge", handler=lambda _r: Response(200, _huge, {"Content-Type": "text/plain"}))
    with fetcher(max_bytes=100_000) as f, pytest.raises(FetchError, match="too large"):
        f.get(http_server.url("/huge"))


def test_declared_content_length_over_cap_refused(http_server):
    http_server.route("/big", b"b" * 5000)
    with fetcher(max_bytes=1000) as f, pytest.raises(FetchError, match="too large"):
        f.get(http_server.url("/big"))


def test_gzip_bomb_refused_and_normal_gzip_and_deflate_decoded(http_server):
    bomb = gzip.compress(bytes(50_000_000), compresslevel=9)
    assert len(bomb) < 100_000
    http_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
    http_server.route("/gz", gzip.compress(b"<rss>ok</rss>"), headers={"Content-Encoding": "gzip"})
    http_server.route("/zz", zlib.compress(b"<rss>zz</rss>"), headers={"Content-Encoding": "deflate"})
    with fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(FetchError, match="too large"):
            f.get(http_server.url("/bomb"))
        assert f.get(http_server.url("/gz")).body == b"<rss>ok</rss>"
        assert f.get(http_server.url("/zz")).body == b"<rss>zz</rss>"


def test_private_address_refused_for_articles_unless_allowed(http_server):
    http_server.route("/story", b"<html>story</html>")
    url = http_server.url("/story")
    with Fetcher(FetchConfig(allow_private_addresses=False)) as f:
        with pytest.raises(FetchError, match="non-public address") as err:
            f.get(url, article=True)
        assert err.value.url == url
        assert f.get(url).body == b"<html>story</html>"  # a configured feed is always fetched
        with pytest.raises(FetchError, match="non-public address"):
            f.get(url.replace("127.0.0.1", "localhost"), article=True)
    with Fetcher(FetchConfig(allow_private_addresses=True)) as f:
        assert f.get(url, article=True).body == b"<html>story</html>"
    assert http_server.hits("/story") == 2


def test_is_public_address():
    for addr in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "::1",
                 "fe80::1", "224.0.0.1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "fc00::1", "not-an-ip"):
        assert not is_public_address(addr), addr
    for addr in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        assert is_public_address(addr), addr


def test_non_http_schemes_refused(http_server):
    http_server.route("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    with fetcher() as f:
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"):
            with pytest.raises(FetchError, match="only http and https"):
                f.get(url)
        with pytest.raises(FetchError, match="only http and https"):
            f.get(http_server.url("/to-file"))


def test_connection_refused_names_the_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    url = f"http://127.0.0.1:{port}/feed"
    with fetcher() as f, pytest.raises(FetchError) as err:
        f.get(url)
    assert err.value.url == url and url in str(err.value) and err.value.status is None


def test_per_host_concurrency_observed_by_server(http_server):
    probe = ConcurrencyProbe(Response(200, b"ok"))
    http_server.route("/slow", handler=probe)
    with fetcher(per_host_concurrency=2) as f:
        threads = [threading.Thread(target=f.get, args=(http_server.url(f"/slow?i={i}"),)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert http_server.hits("/slow") == 6
    assert probe.peak == 2


def test_robots_txt_respected_for_articles_only_and_cached(http_server):
    http_server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    http_server.route("/private/story", b"secret story")
    http_server.route("/public/story", b"public story")
    with fetcher() as f:
        with pytest.raises(RobotsDisallowed, match="robots.txt") as err:
            f.get(http_server.url("/private/story"), article=True)
        assert isinstance(err.value, FetchError) and err.value.url == http_server.url("/private/story")
        assert f.get(http_server.url("/public/story"), article=True).body == b"public story"
        assert f.get(http_server.url("/public/story"), article=True).body == b"public story"
        assert f.get(http_server.url("/private/story")).body == b"secret story"  # a configured feed
    assert http_server.hits("/robots.txt") == 1
    assert http_server.hits("/private/story") == 1


def test_robots_txt_missing_allows_and_server_error_disallows(http_server):
    http_server.route("/story", b"ok")
    with fetcher() as f:  # no /robots.txt route: 404 means everything is allowed
        assert f.get(http_server.url("/story"), article=True).body == b"ok"
    http_server.route("/robots.txt", b"oops", status=503)
    with fetcher() as f, pytest.raises(RobotsDisallowed):
        f.get(http_server.url("/story"), article=True)
    with Fetcher(FetchConfig(allow_private_addresses=True), respect_robots=False) as f:
        assert f.get(http_server.url("/story"), article=True).body == b"ok"


def test_hanging_dns_resolver_ends_within_the_connect_timeout(http_server):
    """getaddrinfo has no timeout of its own: a resolver that hangs must not hold the worker."""
    http_server.route("/feed", b"<rss/>")
    release = threading.Event()
    calls: list[str] = []

    def hanging_resolver(host, port, *args, **kwargs):
        calls.append(host)
        release.wait(30)  # a DNS server that never answers
        return socket.getaddrinfo("127.0.0.1", port, *args, **kwargs)

    try:
        with Fetcher(FetchConfig(allow_private_addresses=True, timeout=5.0, connect_timeout=1.0),
                     resolver=hanging_resolver) as f:
            started = time.monotonic()
            with pytest.raises(FetchError, match="timed out.*resolving localhost"):
                f.get(f"http://localhost:{http_server.port}/feed")
            assert time.monotonic() - started < 4  # the 1 s connect timeout, not the resolver's 30 s
            assert f.get(http_server.url("/feed")).body == b"<rss/>"  # IP literals need no lookup
    finally:
        release.set()
    assert calls == ["localhost"]
