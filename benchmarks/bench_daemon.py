"""Benchmark the daemon end to end: resident memory over N articles and articles per second.

A loopback HTTP server serves one feed of N entries and N generated article pages (a few hundred
words each, with names and numbers that are new in every article, so spaCy's string store would
grow without ``memory_zone``). A real ``pledgewatch run`` daemon subprocess polls the feed,
fetches, extracts, stores and alerts. The benchmark samples the daemon's resident memory
(/proc/PID/status VmRSS) and the store's progress, then prints:

- RSS at start (the daemon running, spaCy loaded, first batch done), at each quarter, at the end,
  and the ratios end/start and end/half (steady state: close to 1.0 means flat);
- articles per second from the first article stored to the last.

    python benchmarks/bench_daemon.py            # 2,000 articles
    python benchmarks/bench_daemon.py -n 500 --keep /tmp/bench

Not part of the test suite. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import LocalServer, Request, Response  # noqa: E402

COMPANIES = ["Microsoft", "Unilever", "Siemens", "Shell", "Amazon", "BMW", "Walmart", "Nestlé", "Heineken",
             "Lufthansa", "Google", "Apple", "Danone", "Volkswagen", "BP", "TotalEnergies"]
WORDS = ["market", "energy", "plant", "capacity", "supplier", "customers", "growth", "quarter", "investors",
         "policy", "carbon", "grid", "battery", "turbine", "factory", "logistics", "fleet", "retail", "demand",
         "pricing", "regulators", "solar", "wind", "hydrogen", "steel", "cement", "chemicals", "shipping",
         "aviation", "data", "centre", "cooling", "network", "software"]
FIRST_NAMES = ["Anna", "Ravi", "Li", "Omar", "Sofia"]


def article_text(i: int) -> tuple[str, list[str]]:
    """(title, paragraphs) of article i: filler with fresh names and numbers, sometimes a fact."""
    rng = random.Random(i)
    company = COMPANIES[i % len(COMPANIES)]
    paras = []
    if i % 3 == 0:
        year = rng.choice([2023, 2024])
        verb = rng.choice(["rose", "fell"])
        paras.append(f"{company} said its greenhouse gas emissions {verb} {rng.randint(2, 30)}% in {year} "
                     f"compared with {year - 1}.")
    if i % 5 == 0:
        paras.append(f"{company} will invest ${rng.randint(1, 900)} million in a new plant in "
                     f"{rng.choice(['Ohio', 'Texas', 'Bavaria', 'Jutland'])} by {rng.randint(2026, 2030)}.")
    for _ in range(6):
        surname = "".join(rng.choices("bcdfghklmnprstvz", k=3)).title()
        name = f"{rng.choice(FIRST_NAMES)} {surname}{i}"
        words = " ".join(rng.choices(WORDS, k=40))
        paras.append(f"{name}, an analyst at Firm{i}x{rng.randint(0, 999)}, said the {words} outlook "
                     f"changed by {rng.randint(10, 99999)} units in week {rng.randint(1, 52)}.")
    return f"Report {i}: {company} and the {rng.choice(WORDS)} market", paras


class Site:
    def __init__(self, srv: LocalServer, n: int) -> None:
        self.srv, self.n = srv, n
        items = []
        for i in range(n):
            title, _ = article_text(i)
            link = srv.url(f"/a/{i}.html")
            items.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                         "<pubDate>Wed, 02 Jul 2025 09:00:00 GMT</pubDate></item>")
        feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
                f"<link>{srv.url('/')}</link><description>bench</description>{''.join(items)}</channel></rss>")
        srv.route("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
        for i in range(n):
            srv.routes[f"/a/{i}.html"] = self.page

    def page(self, req: Request) -> Response:
        i = int(req.path.rsplit("/", 1)[1].split(".")[0])
        title, paras = article_text(i)
        html = (f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>")
        return Response(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


@dataclass
class Sample:
    t: float
    rss_mb: float
    done: int


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def processed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM entries WHERE state = 'alerted'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def run(n: int, workdir: Path, timeout: float) -> list[Sample]:
    db = workdir / "bench.db"
    with LocalServer() as srv:
        Site(srv, n)
        cfg = workdir / "config.toml"
        feed_url = srv.url("/feed.xml")
        cfg.write_text(f'[storage]\npath = "{db}"\n\n[fetch]\nallow_private_addresses = true\nworkers = 8\n'
                       f'per_host_concurrency = 8\n\n[log]\nlevel = "WARNING"\n\n[[feeds]]\nurl = "{feed_url}"\n',
                       encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(workdir / "daemon.log", "wb") as log:
            cmd = [sys.executable, "-m", "monitor", "run", "--config", str(cfg)]
            proc = subprocess.Popen(cmd,  # noqa: S603 - our own interpreter and module
                                    stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            samples: list[Sample] = []
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < timeout:
                    if proc.poll() is not None:
                        raise SystemExit(f"daemon exited with {proc.returncode}; see {workdir / 'daemon.log'}")
                    done = processed(db)
                    samples.append(Sample(time.monotonic() - t0, rss_mb(proc.pid), done))
                    if done >= n:
                        break
                    time.sleep(0.5)
                else:
                    print(f"timed out after {timeout:.0f} s with {samples[-1].done}/{n} articles", file=sys.stderr)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return samples


def first_at(samples: list[Sample], done: int) -> Sample:
    return next(s for s in samples if s.done >= done)


def report(samples: list[Sample], n: int) -> None:
    started = [s for s in samples if s.done > 0]
    if not started:
        print("no article was processed")
        return
    start, end = started[0], started[-1]
    print(f"articles processed: {end.done}/{n}")
    before = [s for s in samples if s.done == 0]
    if before:
        print(f"RSS before the first article stored: {before[-1].rss_mb:.0f} MB (imports, spaCy loading)")
    print(f"RSS at start (first batch done, {start.done} articles): {start.rss_mb:.0f} MB")
    for q in (0.25, 0.5, 0.75):
        s = first_at(started, max(1, int(n * q)))
        print(f"RSS at {int(q * 100)}% ({s.done} articles): {s.rss_mb:.0f} MB")
    print(f"RSS at the end ({end.done} articles): {end.rss_mb:.0f} MB; peak {max(s.rss_mb for s in samples):.0f} MB")
    half = first_at(started, max(1, n // 2))
    print(f"ratio end/start: {end.rss_mb / start.rss_mb:.2f}; ratio end/half (steady state): "
          f"{end.rss_mb / half.rss_mb:.2f}")
    secs = end.t - start.t
    if secs > 0 and end.done > start.done:
        print(f"throughput: {(end.done - start.done) / secs:.1f} articles/s end to end "
              f"(fetch, text, facts, store, alerts) over {secs:.0f} s")


def extractor_only(n: int, zone: bool) -> None:
    """In this process: the extractor alone over n articles in batches of 50, with or without
    ``Extractor.memory_zones`` (nlp.memory_zone() around each batch); prints RSS and the string
    store's size."""
    from monitor.extract import Extractor

    ex = Extractor.load()
    items = []
    for i in range(n):
        title, paras = article_text(i)
        items.append(("\n\n".join(paras), title, None))
    list(ex.extract_many(items[:50]))  # warm up
    start_rss, start_strings = rss_mb(os.getpid()), len(ex.nlp.vocab.strings)
    t0 = time.monotonic()
    ex.memory_zones = zone  # Extractor wraps each batch in nlp.memory_zone() unless told not to
    for b in range(0, n, 50):
        list(ex.extract_many(items[b:b + 50]))
    secs = time.monotonic() - t0
    end_rss = rss_mb(os.getpid())
    print(f"extractor only, {'with' if zone else 'without'} memory_zone, {n} articles: RSS {start_rss:.0f} -> "
          f"{end_rss:.0f} MB (ratio {end_rss / start_rss:.2f}); strings {start_strings} -> "
          f"{len(ex.nlp.vocab.strings)}; {n / secs:.0f} articles/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="articles (default 2000)")
    ap.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    ap.add_argument("--keep", type=Path, default=None, help="keep the database and log in this folder")
    ap.add_argument("--extractor-only", choices=["zone", "nozone"], default=None,
                    help="measure the extractor alone in this process, with or without memory_zone")
    args = ap.parse_args()
    if args.extractor_only:
        extractor_only(args.n, args.extractor_only == "zone")
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        samples = run(args.n, args.keep, args.timeout)
    else:
        with tempfile.TemporaryDirectory(prefix="pledgewatch-bench-") as tmp:
            samples = run(args.n, Path(tmp), args.timeout)
    report(samples, args.n)


if __name__ == "__main__":
    main()
