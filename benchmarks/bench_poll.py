"""One poll cycle over 2,000 feeds on loopback, 50 ms latency per response, per-host limits on.

    .venv/bin/python benchmarks/bench_poll.py [--feeds 2000] [--hosts 50] [--latency 0.05] [--workers N]

A server process (this file with ``--serve``) listens on ``--hosts`` loopback addresses
(127.0.0.2, 127.0.0.3, ...: Linux routes all of 127/8 to lo), each serving its share of the feeds
(RSS 2.0, 20 items each), sleeping ``--latency`` before every response and recording the most
requests it had in flight at once. The client is the real ``Service.poll_due_feeds`` over a new
SQLite database: fetch (with the per-host limit), parse, store entries, schedule. Prints wall time,
peak RSS of the client process, feeds/s, entries stored, and the largest concurrency any host saw
(must not exceed ``[fetch] per_host_concurrency``). Goal: under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ITEMS = 20


def feed_body(n: int) -> bytes:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    items = "".join(
        f"<item><title>Feed {n} story {i}: Company emissions rose 4%</title>"
        f"<link>https://outlet{n}.example/story/{i}</link><guid>feed{n}-{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=3 * i))}</pubDate>"
        f"<description>Scope 1 emissions rose 4% in 2023, the company said. Paragraph {i}.</description></item>"
        for i in range(ITEMS))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>https://outlet{n}.example/</link>{items}</channel></rss>").encode()


# -- server process ----------------------------------------------------------------------------

def serve(hosts: int, latency: float) -> None:
    """Run the latency servers; print {"hosts": [[ip, port], ...]} and serve until stdin closes."""
    stats: dict[str, int] = {}
    lock = threading.Lock()
    open_now: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            host = self.server.server_address[0]  # type: ignore[index]
            if self.path == "/stats":
                body = json.dumps(stats).encode()
            else:
                with lock:  # requests in flight on this host, the most ever seen
                    open_now[host] = open_now.get(host, 0) + 1
                    stats[host] = max(stats.get(host, 0), open_now[host])
                time.sleep(latency)
                body = feed_body(int(self.path.rsplit("/", 1)[-1].split(".")[0]))
                with lock:
                    open_now[host] -= 1
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    servers = []
    for i in range(hosts):
        srv = ThreadingHTTPServer((f"127.0.0.{i + 2}", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    print(json.dumps({"hosts": [list(s.server_address) for s in servers]}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin


# -- client ------------------------------------------------------------------------------------

def run(n_feeds: int, hosts: int, latency: float, workers: int | None) -> dict[str, Any]:
    from monitor.config import Config, FeedConfig, FetchConfig, StorageConfig
    from monitor.service import CycleReport, Service

    proc = subprocess.Popen(  # noqa: S603 - this very file, our own arguments
        [sys.executable, __file__, "--serve", "--hosts", str(hosts), "--latency", str(latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        addresses = json.loads(proc.stdout.readline())["hosts"]
        urls = [f"http://{addresses[i % hosts][0]}:{addresses[i % hosts][1]}/feed/{i}.xml" for i in range(n_feeds)]
        fetch = FetchConfig(timeout=20.0)
        if workers:
            fetch = FetchConfig(timeout=20.0, workers=workers)
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Config(storage=StorageConfig(path=Path(tmp) / "bench.db"), fetch=fetch,
                         feeds=tuple(FeedConfig(url=u) for u in urls))
            with Service(cfg) as svc:
                now = datetime.now(UTC)
                svc.store.sync_feeds(cfg.feeds, now)
                report = CycleReport()
                started = time.perf_counter()
                svc.poll_due_feeds(now, report)
                wall = time.perf_counter() - started
                entries = sum(svc.store.stored_entry_counts().values())
                from monitor.fetch import Fetcher

                with Fetcher(FetchConfig()) as f:
                    per_host = max(max(json.loads(f.get(f"http://{h}:{p}/stats").body).values() or [0])
                                   for h, p in addresses)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"feeds": n_feeds, "hosts": hosts, "latency_ms": latency * 1000, "workers": cfg.fetch.workers,
                "per_host_limit": cfg.fetch.per_host_concurrency, "wall_s": round(wall, 2),
                "feeds_per_s": round(n_feeds / wall, 1), "failed": report.feeds_failed,
                "entries_stored": entries, "max_concurrent_per_host_seen": per_host,
                "peak_rss_mb": round(rss_mb, 1),
                "latency_floor_s": round(n_feeds * latency / cfg.fetch.workers, 2)}
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=None, help="[fetch] workers (default: the config default)")
    args = ap.parse_args()
    if args.serve:
        serve(args.hosts, args.latency)
        return
    result = run(args.feeds, args.hosts, args.latency, args.workers)
    print(json.dumps(result, indent=2))
    print(f"one poll cycle over {result['feeds']} feeds: {result['wall_s']} s "
          f"({'under' if result['wall_s'] < 60 else 'OVER'} the 60 s goal), peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
