"""Story-cluster benchmark (issue 4, duplicates across outlets): cost per article of the MinHash
signature and the LSH lookup over 100,000 stored signatures.

Two designs are measured over the same signatures:

* **SQL buckets** (what Pledgewatch uses): bucket keys in the indexed ``lsh_buckets`` table;
  a lookup is one query, nothing is held in memory and nothing is rebuilt at start-up.
* **In-memory** ``datasketch.MinHashLSH`` with the same bands x rows, rebuilt from the stored
  signatures whenever a process starts: build time and memory are reported.

    python benchmarks/bench_clusters.py [--stored 100000] [--texts 5000] [--queries 400]

Texts are generated from a made-up vocabulary (no publisher's text): ``--texts`` stored articles
have real texts and signatures, the rest of ``--stored`` have random signatures (they stand for
unrelated stories: they fill the index and the buckets but never match). Half of the queries
are rewrites of stored texts (a few words changed, a paragraph added), half are new stories.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.clusters import (  # noqa: E402
    _PERMUTATIONS,
    BANDS,
    NUM_PERM,
    ROWS,
    SCHEME,
    SEED,
    assign_cluster,
    bucket_keys,
    minhash,
    shingles,
    signature_bytes,
    signature_values,
)
from monitor.store import Store  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return list(dict.fromkeys("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n)))


def story(rng: random.Random, vocab: list[str], words: int = 350) -> list[str]:
    """Paragraphs of Zipf-distributed words: common words recur, rare ones make a story distinct."""
    weights = [1 / (i + 1) for i in range(len(vocab))]
    body = rng.choices(vocab, weights=weights, k=words)
    return [" ".join(body[i:i + 50]) for i in range(0, words, 50)]


def rewrite(rng: random.Random, paras: list[str], vocab: list[str]) -> list[str]:
    """A copy desk's rewrite: 3% of the words replaced and a paragraph added."""
    out = []
    for p in paras:
        words = p.split()
        for i in range(len(words)):
            if rng.random() < 0.03:
                words[i] = rng.choice(vocab)
        out.append(" ".join(words))
    return [*out, " ".join(rng.choices(vocab, k=40))]


def populate(db: Path, stored: int, texts: list[str], rng: random.Random) -> tuple[list[bytes], float]:
    """Fill a fresh store; returns every stored signature and the mean signature time (ms)."""
    Store.open(db).close()
    import sqlite3

    conn = sqlite3.connect(db)
    sig_ms = []
    signatures: list[bytes] = []
    nprng = np.random.default_rng(7)
    ts = T0.isoformat()
    rows_a: list[tuple] = []
    rows_c: list[tuple] = []
    rows_b: list[tuple[int, int]] = []
    for i in range(1, stored + 1):
        if i <= len(texts):
            t = time.perf_counter()
            sig = signature_bytes(minhash(shingles(texts[i - 1])))
            sig_ms.append((time.perf_counter() - t) * 1000)
            body = texts[i - 1]
        else:
            sig = nprng.integers(0, 2**32, NUM_PERM, dtype=np.uint32).astype("<u4").tobytes()
            body = ""
        signatures.append(sig)
        rows_a.append((i, f"https://outlet{i % 300}.example/a/{i}", f"story {i}", body, ts))
        rows_c.append((i, i, f"outlet{i % 300}.example", sig, ts))
        rows_b.extend((k, i) for k in bucket_keys(sig))
        if len(rows_a) >= 10_000 or i == stored:
            conn.executemany("INSERT INTO articles (id, url, title, text, fetched_at) VALUES (?, ?, ?, ?, ?)", rows_a)
            conn.executemany("INSERT INTO article_clusters (article_id, cluster_id, outlet, signature, seen_at) "
                             "VALUES (?, ?, ?, ?, ?)", rows_c)
            conn.executemany("INSERT OR IGNORE INTO lsh_buckets (bucket, article_id) VALUES (?, ?)", rows_b)
            conn.commit()
            rows_a, rows_c, rows_b = [], [], []
    conn.close()
    return signatures, statistics.mean(sig_ms)


def bench_sql(db: Path, queries: list[tuple[str, int | None]], stored: int) -> dict[str, float]:
    """Per-article signature, lookup+confirmation and save through the Store, as the service does."""
    sig_ms, look_ms, save_ms, cands = [], [], [], []
    correct = 0
    with Store.open(db) as store:
        since = T0 - timedelta(days=14)
        for n, (body, expect) in enumerate(queries):
            t0 = time.perf_counter()
            sh = shingles(body)
            sig = signature_bytes(minhash(sh))
            keys = bucket_keys(sig)
            t1 = time.perf_counter()
            found = store.cluster_candidates(keys, since=since)
            got = assign_cluster(sh, sig, "new.example", found, 0.5)
            t2 = time.perf_counter()
            rowid = store.add_entry(_entry(n), T0)
            assert rowid is not None
            from monitor.types import Article

            aid = store.save_extraction(rowid, Article(url=f"https://new.example/{n}", title="q", text=body), [],
                                        "bench", T0)
            t3 = time.perf_counter()
            store.save_cluster(aid, got, outlet="new.example", signature=sig, buckets=keys, now=T0)
            t4 = time.perf_counter()
            sig_ms.append((t1 - t0) * 1000)
            look_ms.append((t2 - t1) * 1000)
            save_ms.append((t4 - t3) * 1000)
            cands.append(len(found))
            correct += int(got.cluster_id == expect)
    return {"signature_ms": statistics.mean(sig_ms), "lookup_confirm_ms": statistics.mean(look_ms),
            "lookup_p95_ms": sorted(look_ms)[int(0.95 * len(look_ms))], "save_cluster_ms": statistics.mean(save_ms),
            "candidates_mean": statistics.mean(cands), "accuracy": correct / len(queries)}


def _entry(n: int):  # noqa: ANN202 - a FeedEntry
    from monitor.types import FeedEntry

    url = f"https://new.example/{n}"
    return FeedEntry(feed_url="https://new.example/rss", entry_id=url, link=url, title="q")


def bench_memory(signatures: list[bytes], queries: list[tuple[str, int | None]]) -> dict[str, float]:
    """The alternative: datasketch's in-memory MinHashLSH rebuilt from the stored signatures."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    rss_before = _rss_mb()
    t = time.perf_counter()
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
    with lsh.insertion_session() as session:
        for i, sig in enumerate(signatures, start=1):
            m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashvalues=signature_values(sig),
                        permutations=_PERMUTATIONS)
            session.insert(i, LeanMinHash(m))
    build_s = time.perf_counter() - t
    grown = _rss_mb() - rss_before
    look_ms = []
    for body, _expect in queries:
        m = minhash(shingles(body))
        t = time.perf_counter()
        lsh.query(m)
        look_ms.append((time.perf_counter() - t) * 1000)
    return {"rebuild_s": build_s, "rebuild_rss_mb": grown, "query_ms": statistics.mean(look_ms)}


def _rss_mb() -> float:
    """The process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stored", type=int, default=100_000)
    ap.add_argument("--texts", type=int, default=5_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--skip-memory", action="store_true", help="do not measure the in-memory alternative")
    args = ap.parse_args()
    rng = random.Random(42)
    vocab = vocabulary(rng)
    paras = [story(rng, vocab) for _ in range(args.texts)]
    texts = ["\n\n".join(p) for p in paras]
    queries: list[tuple[str, int | None]] = []
    for q in range(args.queries):
        if q % 2 == 0:
            i = rng.randrange(args.texts)
            queries.append(("\n\n".join(rewrite(rng, paras[i], vocab)), i + 1))
        else:
            queries.append(("\n\n".join(story(rng, vocab)), None))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        signatures, sig_ms = populate(db, args.stored, texts, rng)
        print(f"populated {args.stored:,} signatures ({args.texts:,} from texts) in {time.perf_counter() - t:.1f} s; "
              f"signature of a {len(texts[0].split())}-word text: {sig_ms:.2f} ms")
        print(f"database: {db.stat().st_size / 1e6:.0f} MB ({args.stored * (NUM_PERM * 4) / 1e6:.0f} MB of it "
              "signatures)")
        sql = bench_sql(db, queries, args.stored)
        print(f"SQL buckets, per new article: signature {sql['signature_ms']:.2f} ms, lookup + Jaccard confirmation "
              f"{sql['lookup_confirm_ms']:.2f} ms (p95 {sql['lookup_p95_ms']:.2f}), save {sql['save_cluster_ms']:.2f}"
              f" ms; {sql['candidates_mean']:.2f} candidates on average; accuracy {sql['accuracy']:.1%}")
    if not args.skip_memory:
        mem = bench_memory(signatures, queries)
        print(f"in-memory MinHashLSH: rebuild {mem['rebuild_s']:.1f} s, "
              f"resident memory +{mem['rebuild_rss_mb']:.0f} MB, query {mem['query_ms']:.3f} ms")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
