"""Store benchmark (issue 6): a generated store of 100,000 articles and 300,000 facts.

Measures insert throughput (through ``Store.add_entry`` + ``Store.save_extraction``, one
transaction per article as the daemon does) and the latency of the queries behind
``pledgewatch query facts --company``, ``query search``, ``query timeline`` and ``query
companies``. Goal: each query under 100 ms.

    python benchmarks/bench_store.py [--articles 100000] [--db /tmp/bench.db] [--keep]

The text is generated (random words around fixed phrases), not taken from any publisher.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.store import Store  # noqa: E402
from monitor.types import Article, EmissionChange, Evidence, Fact, FeedEntry, Investment, Target  # noqa: E402

WORDS = ("market", "quarter", "report", "growth", "energy", "power", "grid", "supply", "chain", "factory", "fleet",
         "aviation", "steel", "cement", "cloud", "servers", "cooling", "water", "solar", "wind", "battery",
         "hydrogen", "investors", "board", "shares", "outlook", "demand", "customers", "regulation", "policy",
         "europe", "asia", "america", "offices", "logistics", "shipping", "retail")
METRICS = ("ghg", "scope1", "scope2", "scope3", "energy", "water")
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def company_names(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct made-up company names."""
    stems = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Cyberdyne", "Wonka", "Tyrell"]
    tails = ["Corp", "Group", "Energy", "Airlines", "Foods", "Motors", "Systems", "Holdings", "Steel", "Retail"]
    names = {f"{rng.choice(stems)}{i} {rng.choice(tails)}" for i in range(n)}
    return sorted(names)


def article_and_facts(i: int, companies: list[str], rng: random.Random) -> tuple[Article, list[Fact]]:
    """One generated article with three facts about its company."""
    company = companies[i % len(companies)]
    year = 2015 + i % 10
    value = round(rng.uniform(1, 40), 1)
    direction = "increase" if rng.random() < 0.5 else "decrease"
    s1 = f"{company} said its {rng.choice(METRICS)} emissions {('rose' if direction == 'increase' else 'fell')} " \
         f"{value}% in {year}."
    s2 = f"{company} pledged to reach net zero by {year + 20}."
    s3 = f"{company} will invest ${rng.randint(1, 90)} billion in data centres by {year + 5}."
    filler = " ".join(rng.choice(WORDS) for _ in range(60))
    text = f"{s1} {filler} {s2} {s3}"
    o1, o2 = 0, text.index(s2)
    o3 = text.index(s3)
    facts: list[Fact] = [
        EmissionChange(company, rng.choice(METRICS), direction, value, "%", year - 1, year,  # type: ignore[arg-type]
                       "reported", evidence=Evidence(s1, o1, o1 + len(s1), 0.9)),
        Target(company, "net zero", year + 20, evidence=Evidence(s2, o2, o2 + len(s2), 0.8)),
        Investment(company, rng.randint(1, 90) * 1e9, "USD", "data centres", year + 5, "announced",
                   evidence=Evidence(s3, o3, o3 + len(s3), 0.8)),
    ]
    published = T0 + timedelta(minutes=37 * i)
    article = Article(url=f"https://news{i % 50}.example/{i}", title=f"{company} report {i}", text=text,
                      published=published, language="en")
    return article, facts


def fill(store: Store, n: int, rng: random.Random) -> tuple[float, int]:
    """Insert ``n`` articles; returns (seconds, facts inserted)."""
    companies = company_names(max(10, n // 200), rng)
    facts_total = 0
    start = time.perf_counter()
    for i in range(n):
        article, facts = article_and_facts(i, companies, rng)
        entry = FeedEntry(feed_url=f"https://news{i % 50}.example/feed", entry_id=f"e{i}", link=article.url,
                          title=article.title, published=article.published)
        rowid = store.add_entry(entry, article.published or T0)
        assert rowid is not None
        store.save_extraction(rowid, article, facts, "bench", article.published or T0)
        facts_total += len(facts)
        if i and i % 10_000 == 0:
            print(f"  {i} articles, {i / (time.perf_counter() - start):.0f}/s", file=sys.stderr)
    return time.perf_counter() - start, facts_total


def latency(fn: Callable[[], Any], repeat: int = 15) -> tuple[float, float, int]:
    """(median ms, max ms, rows) over ``repeat`` runs after one warm-up."""
    rows = len(fn())
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="Keep the database (default: a temporary file).")
    args = ap.parse_args()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory(prefix="pw-bench-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if path.exists() and not args.keep:
            sys.exit(f"{path} exists; remove it or pass --keep to reuse it")
        with Store.open(path) as store:
            if store.status()["articles"] == 0:
                secs, n_facts = fill(store, args.articles, rng)
                print(f"insert: {args.articles} articles + {n_facts} facts in {secs:.1f} s = "
                      f"{args.articles / secs:.0f} articles/s, {n_facts / secs:.0f} facts/s")
        size = path.stat().st_size / 1e6
        with Store.open_readonly(path) as ro:
            st = ro.status()
            print(f"store: {st['articles']} articles, {st['facts']} facts, {size:.0f} MB")
            company = ro.companies()[len(ro.companies()) // 2]["name"]
            checks = {
                f"query facts --company {company!r}": lambda: ro.facts(company=company),
                f"query facts --company {company!r} --type emission_change": lambda: ro.facts(
                    company=company, type="emission_change"),
                "query facts (newest, default --limit 100)": lambda: ro.facts(limit=100),
                "query facts --type target (default --limit 100)": lambda: ro.facts(type="target", limit=100),
                "query facts --since 2024-01-01 (default --limit 100)": lambda: ro.facts(
                    since=datetime(2024, 1, 1, tzinfo=UTC), limit=100),
                "worst case: query facts --metric nope (walks every article)": lambda: ro.facts(
                    metric="nope", limit=100),
                f"query timeline {company!r}": lambda: ro.company_timeline(company),
                "query search 'data centres' (in every article)": lambda: ro.search_recent("data centres"),
                "query search 'hydrogen battery' (in 65%)": lambda: ro.search_recent("hydrogen battery"),
                f"query search '{company}' (one company)": lambda: ro.search_recent(company),
                "Store.search 'data centres' (ranks all matches)": lambda: ro.search("data centres"),
                "query companies": ro.companies,
            }
            worst = 0.0
            for label, fn in checks.items():
                med, top, rows = latency(fn)
                if label.startswith(("query facts", "query search")):
                    worst = max(worst, med)  # the goal covers these two commands
                print(f"{label:<60} median {med:7.1f} ms  max {top:7.1f} ms  ({rows} rows)")
        print(f"goal < 100 ms for query facts and query search: {'met' if worst < 100 else 'NOT met'} "
              f"(worst median {worst:.1f} ms)")
        if args.keep:
            print(f"database kept at {path}")


if __name__ == "__main__":
    main()
