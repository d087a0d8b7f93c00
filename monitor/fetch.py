"""The only HTTP code in Pledgewatch: a careful, thread-safe fetcher built on ``httpx.Client``.

``Fetcher(cfg).get(url)`` returns a ``FetchResult`` or raises ``FetchError`` naming the URL.
What it guards against, and how:

* **Time**: connect and read timeouts from the config, plus a wall-clock deadline for the whole
  request (``[fetch] timeout``) enforced at the socket level, so a server that trickles its headers
  or body a byte at a time cannot hold a worker past the deadline.
  DNS lookups run in a helper thread and are abandoned after the connect timeout, so a hanging
  resolver cannot stall a worker either.
* **Size**: the body is streamed and refused past ``max_bytes``; gzip and deflate are decoded here
  with a bounded output size, so a compression bomb never reaches memory.
* **Redirects**: followed by hand, at most ``max_redirects`` hops, each hop checked (scheme and,
  for article links, address); a chain of 301/308 hops is reported as ``permanent_url``.
* **Addresses**: with ``article=True`` (links found in feeds) hosts that resolve to loopback,
  private, link-local, multicast or reserved addresses are refused unless
  ``allow_private_addresses``. The check runs when the socket connects, on the address actually
  dialled, so DNS rebinding cannot slip past it. Feeds the user configured are always fetched.
* **Politeness**: conditional GET (If-None-Match / If-Modified-Since), an honest User-Agent, a
  per-host concurrency limit (and optional minimum spacing) shared by every thread, Retry-After
  parsed on 429 and 503, and robots.txt respected for article fetches (cached per origin, RFC 9309:
  a missing robots.txt allows everything, an unreachable one disallows for a while).

Environment proxies (``HTTP_PROXY``...) are not used: the transport is built here so that the
address and deadline guards sit under every connection.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from monitor.config import FetchConfig
from monitor.errors import FetchError

__all__ = ["AddressRefused", "FetchResult", "Fetcher", "RobotsDisallowed", "is_public_address", "parse_retry_after"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
_ALLOWED_SCHEMES = ("http", "https")
_INFLATE_STEP = 256 * 1024  # bytes of decompressed output per step: a bomb is caught early
DEFAULT_RESOLVE_TIMEOUT = 10.0  # seconds for a DNS lookup when no timeout applies

Resolver = Callable[..., list[Any]]  # socket.getaddrinfo's signature

# The request in flight on this thread: its deadline (time.monotonic()).
_local = threading.local()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one successful (2xx or 304) GET, after redirects."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # decoded (no Content-Encoding); empty on 304
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304: the caller's copy is current
    permanent_url: str | None = None  # where a chain of 301/308 moved the resource for good
    retry_after: float | None = None  # seconds, when the server sent Retry-After
    elapsed: float = 0.0  # seconds for the whole request, redirects included


class AddressRefused(FetchError):
    """An article link resolved to an address we do not fetch (loopback, private, ...)."""


class RobotsDisallowed(FetchError):
    """The site's robots.txt does not allow us to fetch this article."""


class _DeadlineExceeded(httpcore.ReadTimeout):
    """Raised by the guarded streams once the whole request's deadline has passed."""


# -- address policy ------------------------------------------------------------------------

def is_public_address(address: str) -> bool:
    """True when ``address`` (an IP literal) is a public unicast address we may fetch articles from."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


# -- deadline and address guards under httpcore ----------------------------------------------

def _remaining(timeout: float | None) -> float | None:
    """The timeout for one socket operation, clamped to the request's deadline."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlineExceeded("the request's total timeout was exceeded")
    return left if timeout is None else min(timeout, left)


class _GuardedStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake respects the request deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _GuardedStream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves the host itself (with a deadline), refuses non-public addresses when asked, dials
    the checked IP."""

    def __init__(self, *, check_addresses: bool, resolver: Resolver = socket.getaddrinfo) -> None:
        self._inner = httpcore.SyncBackend()
        self._check = check_addresses
        self._resolver = resolver

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        timeout = _remaining(timeout)
        addresses = _resolve(host, port, timeout, self._resolver)
        refused = [a for a in addresses if not is_public_address(a)] if self._check else []
        if refused:
            raise AddressRefused(f"refused to fetch {host}: it resolves to a non-public address ({refused[0]}); "
                                 "set [fetch] allow_private_addresses = true to allow it")
        last: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(address, port, _remaining(timeout), local_address, socket_options)
                return _GuardedStream(stream)
            except httpcore.ConnectError as e:
                last = e
        raise last or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _resolve(host: str, port: int, timeout: float | None, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """Every IP address ``host`` resolves to (an IP literal resolves to itself).

    The system resolver has no timeout of its own, so it runs in a daemon thread and we wait at
    most ``timeout`` seconds (the connect timeout, within the request's deadline): a hanging DNS
    server costs one request its connect timeout, never a worker or the cycle.
    """
    literal = host.strip("[]")
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(literal.split("%", 1)[0])
        return [literal]
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["infos"] = resolver(host, port, type=socket.SOCK_STREAM)
        except Exception as e:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=work, name=f"resolve {host}", daemon=True).start()
    wait = DEFAULT_RESOLVE_TIMEOUT if timeout is None else timeout
    if not done.wait(wait):
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {wait:g} s")
    if "error" in box:
        raise httpcore.ConnectError(f"cannot resolve {host}: {box['error']}") from box["error"]
    infos = box["infos"]
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


def _build_client(cfg: FetchConfig, *, check_addresses: bool,
                  resolver: Resolver = socket.getaddrinfo) -> httpx.Client:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx offers no public hook for the network backend; the pool it builds is replaced by an
    # identical one over our guarded backend (httpcore's public API).
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(check_addresses=check_addresses, resolver=resolver),
    )
    timeout = httpx.Timeout(cfg.timeout, connect=min(cfg.connect_timeout, cfg.timeout))
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False,
                        headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate",
                                 "Accept": "*/*"})


# -- per-host limits ---------------------------------------------------------------------------

class _HostSlots:
    """A semaphore per host (and optional minimum spacing between requests), shared by all threads."""

    def __init__(self, per_host: int, min_interval: float) -> None:
        self._per_host = max(1, per_host)
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._sems: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            sem = self._sems.setdefault(host, threading.Semaphore(self._per_host))
        with sem:
            self._wait_spacing(host)
            yield

    def _wait_spacing(self, host: str) -> None:
        if self._min_interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, 0.0))
            self._next_start[host] = start + self._min_interval
        if start > now:
            time.sleep(start - now)


# -- the fetcher -------------------------------------------------------------------------------

class Fetcher:
    """Fetches URLs under the limits of a ``FetchConfig``; thread-safe; use as a context manager."""

    def __init__(self, cfg: FetchConfig | None = None, *, min_host_interval: float = 0.0,
                 respect_robots: bool = True, resolver: Resolver | None = None) -> None:
        """``resolver`` replaces ``socket.getaddrinfo`` (same signature), e.g. to test a slow DNS."""
        self.cfg = cfg or FetchConfig()
        self._robots = _RobotsCache(self) if respect_robots else None
        resolve = resolver or socket.getaddrinfo
        self._feed_client = _build_client(self.cfg, check_addresses=False, resolver=resolve)
        self._article_client = (self._feed_client if self.cfg.allow_private_addresses
                                else _build_client(self.cfg, check_addresses=True, resolver=resolve))
        self._slots = _HostSlots(self.cfg.per_host_concurrency, min_host_interval)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools."""
        self._feed_client.close()
        if self._article_client is not self._feed_client:
            self._article_client.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            article: bool = False) -> FetchResult:
        """GET ``url`` following redirects; 2xx and 304 return, anything else raises ``FetchError``.

        ``etag``/``last_modified`` make the request conditional (a 304 gives ``not_modified``).
        ``article=True`` marks a link taken from a feed: non-public addresses are refused.
        """
        return self._get(url, etag=etag, last_modified=last_modified, article=article,
                         robots=article and self._robots is not None)

    def _get(self, url: str, *, etag: str | None, last_modified: str | None, article: bool,
             robots: bool) -> FetchResult:
        client = self._article_client if article else self._feed_client
        headers = _conditional_headers(etag, last_modified)
        started = time.monotonic()
        visited: list[str] = []
        current = url
        permanent: str | None = None
        still_permanent = True
        outer_deadline = getattr(_local, "deadline", None)  # set when fetching robots.txt mid-request
        _local.deadline = None
        try:
            while True:
                _check_url(current, url)
                if robots and not self._robots_allow(current, url):
                    raise RobotsDisallowed(f"robots.txt of {urlsplit(current).netloc} disallows {current}", url=url)
                if current in visited:
                    raise FetchError(f"redirect loop fetching {url} (at {current})", url=url)
                visited.append(current)
                hop = self._hop(client, current, headers, url)
                if isinstance(hop, FetchResult):
                    return _finish(hop, url, permanent, started)
                status, location = hop
                if len(visited) > self.cfg.max_redirects:
                    raise FetchError(f"too many redirects fetching {url} (more than {self.cfg.max_redirects})",
                                     url=url, status=status)
                target = urljoin(current, location)
                still_permanent = still_permanent and status in PERMANENT_REDIRECTS
                if still_permanent:
                    permanent = target
                current = target
        finally:
            _local.deadline = outer_deadline

    def _robots_allow(self, current: str, url: str) -> bool:
        if self._robots is None:
            return True
        try:
            return self._robots.allows(current)
        except AddressRefused as e:
            raise AddressRefused(str(e).split(" (fetching ")[0] + f" (fetching {url})", url=url) from None

    def fetch_robots(self, origin: str) -> FetchResult:
        """GET ``origin``/robots.txt (with the article guards, without a robots check of its own)."""
        return self._get(origin.rstrip("/") + "/robots.txt", etag=None, last_modified=None, article=True,
                         robots=False)

    def _hop(self, client: httpx.Client, current: str, headers: dict[str, str],
             url: str) -> FetchResult | tuple[int, str]:
        """One request: a final result, or (status, Location) for a redirect."""
        host = urlsplit(current).netloc.lower()
        with self._slots.slot(host):
            if getattr(_local, "deadline", None) is None:
                _local.deadline = time.monotonic() + self.cfg.timeout  # queueing for the host is free
            try:
                with client.stream("GET", current, headers=headers) as resp:
                    return self._handle(resp, current, url)
            except AddressRefused as e:
                raise AddressRefused(f"{e} (fetching {url})", url=url) from None
            except FetchError:
                raise
            except httpx.TimeoutException as e:
                raise FetchError(f"timed out fetching {url} (limit {self.cfg.timeout:g} s): "
                                 f"{e or type(e).__name__}", url=url) from None
            except (httpx.HTTPError, httpx.InvalidURL, httpcore.ConnectError) as e:
                raise FetchError(f"network error fetching {url}: {e or type(e).__name__}", url=url) from None
            except (OSError, UnicodeError, ValueError) as e:
                raise FetchError(f"could not fetch {url}: {e}", url=url) from None

    def _handle(self, resp: httpx.Response, current: str, url: str) -> FetchResult | tuple[int, str]:
        status = resp.status_code
        headers = {k.lower(): v for k, v in resp.headers.items()}
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status in REDIRECT_STATUSES and headers.get("location"):
            return status, headers["location"].strip()
        if status >= 400:
            raise FetchError(f"HTTP {status} {resp.reason_phrase} fetching {url}"
                             + (f" (retry after {retry_after:g} s)" if retry_after is not None else ""),
                             url=url, status=status, retry_after=retry_after)
        if status == 304:
            body = b""
        elif 200 <= status < 300:
            body = _read_body(resp, self.cfg.max_bytes, url)
        else:
            raise FetchError(f"unexpected HTTP {status} fetching {url}", url=url, status=status)
        return FetchResult(url=url, final_url=current, status=status, headers=headers, body=body,
                           etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                           not_modified=status == 304, retry_after=retry_after)


class _RobotsCache:
    """robots.txt per origin (scheme://host:port), parsed and cached; shared by all threads."""

    TTL = 3600.0  # seconds a fetched robots.txt is trusted
    ERROR_TTL = 600.0  # seconds an unreachable robots.txt disallows the site
    MAX_BYTES = 500_000

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._agent = fetcher.cfg.user_agent.split("/", 1)[0].strip() or "*"
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, RobotFileParser | None, bool]] = {}

    def allows(self, url: str) -> bool:
        """Whether the robots.txt of ``url``'s origin lets us fetch it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            cached = self._cache.get(origin)
        if cached is None or cached[0] < time.monotonic():
            cached = self._load(origin)
            with self._lock:
                self._cache[origin] = cached
        _, parser, allow_all = cached
        return allow_all if parser is None else parser.can_fetch(self._agent, url)

    def _load(self, origin: str) -> tuple[float, RobotFileParser | None, bool]:
        now = time.monotonic()
        try:
            result = self._fetcher.fetch_robots(origin)
        except AddressRefused:
            raise
        except FetchError as e:
            if e.status is None:  # network trouble: the article fetch itself will report it
                return now + self.ERROR_TTL, None, True
            if 400 <= e.status < 500 and e.status != 429:
                return now + self.TTL, None, True  # no robots.txt: everything allowed
            return now + self.ERROR_TTL, None, False  # 5xx/429: disallowed for a while (RFC 9309)
        parser = RobotFileParser()
        parser.parse(result.body[: self.MAX_BYTES].decode("utf-8", "replace").splitlines())
        return now + self.TTL, parser, True


def _finish(result: FetchResult, url: str, permanent: str | None, started: float) -> FetchResult:
    return FetchResult(url=url, final_url=result.final_url, status=result.status, headers=result.headers,
                       body=result.body, etag=result.etag, last_modified=result.last_modified,
                       not_modified=result.not_modified, permanent_url=permanent,
                       retry_after=result.retry_after, elapsed=time.monotonic() - started)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _check_url(current: str, url: str) -> None:
    parts = urlsplit(current)
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        where = "" if current == url else f" (redirected to {current})"
        raise FetchError(f"refused to fetch {url}{where}: only http and https URLs are fetched", url=url)
    if not parts.hostname:
        raise FetchError(f"refused to fetch {url}: no host in {current!r}", url=url)


# -- body reading with a cap on the decoded size ---------------------------------------------

def _read_body(resp: httpx.Response, max_bytes: int, url: str) -> bytes:
    declared = resp.headers.get("content-length")
    encoding = resp.headers.get("content-encoding", "").strip().lower()
    if declared and declared.isdigit() and int(declared) > max_bytes and encoding in ("", "identity"):
        raise FetchError(f"body of {url} too large: {declared} bytes declared, limit {max_bytes}", url=url)
    out = bytearray()
    for chunk in _decoded_chunks(resp, encoding):
        out += chunk
        if len(out) > max_bytes:
            raise FetchError(f"body of {url} too large: more than {max_bytes} bytes"
                             + (f" after {encoding} decoding" if encoding not in ("", "identity") else ""),
                             url=url)
    return bytes(out)


def _decoded_chunks(resp: httpx.Response, encoding: str) -> Iterator[bytes]:
    """The body decoded; gzip/deflate are decoded here, at most ``_INFLATE_STEP`` bytes at a time."""
    if encoding in ("", "identity"):
        yield from resp.iter_raw()
    elif encoding in ("gzip", "x-gzip", "deflate"):
        yield from _inflate(resp.iter_raw(), encoding, _INFLATE_STEP)
    else:  # an encoding we did not ask for: httpx decodes it (bounded by its own chunking)
        yield from resp.iter_bytes()


def _inflate(raw: Iterator[bytes], encoding: str, limit: int) -> Iterator[bytes]:
    wbits = zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    first = True
    try:
        for data in raw:
            if first and encoding == "deflate" and data and (data[0] & 0x0F) != 8:
                decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate without a zlib header
            first = False
            pending = data
            while pending:
                out = decoder.decompress(pending, limit)
                yield out
                pending = decoder.unconsumed_tail
                if decoder.eof:
                    pending = b""
        yield decoder.flush()
    except zlib.error as e:
        raise httpx.DecodingError(f"bad {encoding} body: {e}") from None


# -- Retry-After -------------------------------------------------------------------------------

def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
