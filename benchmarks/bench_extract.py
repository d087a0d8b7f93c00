"""Extractor throughput vs bare ``nlp.pipe`` over the same texts (the dev set), in one run.

Usage: ``python benchmarks/bench_extract.py [DEV.jsonl] [--repeat N] [--texts DIR]``. Prints words/s and
articles/s for (a) ``nlp.pipe`` over every title and text with the same spaCy model and (b)
``Extractor.extract_many`` (pre-filter + parse of candidate sentences + rules), and their ratio.
Then the same for plain-text articles (``--texts DIR``, default ``../shared/realworld/html``: every
``*.expected.txt``, real general news, where few sentences can hold a fact). The dev set is written
to be fact-dense (about half its characters are in candidate sentences), which caps its ratio near 2x;
real news is what the daemon reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.extract import Extractor  # noqa: E402


def load(path: Path) -> list[tuple[str, str | None, date | None]]:
    """(text, title, published) of every line of a SCHEMA.md JSONL file."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            pub = date.fromisoformat(r["published"][:10]) if r.get("published") else None
            items.append((r.get("text") or "", r.get("title"), pub))
    return items


def main() -> None:
    """Benchmark each corpus and print its table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--texts", type=Path, default=ROOT.parent / "shared" / "realworld" / "html",
                    help="a directory of *.expected.txt articles (real news); benchmarked after PATH")
    args = ap.parse_args()
    ex = Extractor.load()
    corpora = []
    if args.path.exists():
        corpora.append((f"{args.path.name} (fact-dense passages)", load(args.path)))
    if args.texts and args.texts.is_dir():
        corpora.append((f"{args.texts} (real news pages)",
                        [(p.read_text(encoding="utf-8", errors="replace"), None, None)
                         for p in sorted(args.texts.rglob("*.expected.txt"))]))
    if not corpora:
        sys.exit(f"neither {args.path} nor {args.texts} exists")
    for name, items in corpora:
        bench(ex, name, items, args.repeat)


def bench(ex: Extractor, name: str, items: list[tuple[str, str | None, date | None]], repeat: int) -> None:
    """Time bare ``nlp.pipe`` over every title and text against ``extract_many``; print the table."""
    words = sum(len((t or "").split()) + len((ti or "").split()) for t, ti, _ in items)
    texts = [f"{ti}\n\n{t}" if ti else t for t, ti, _ in items]
    sents = [s for t, ti, p in items for s in ex._prepare(t, ti, p)[0]]
    share = sum(len(s.text) for s in sents if s.candidate) / max(1, sum(len(s.text) for s in sents))
    list(ex.nlp.pipe(texts[:5]))  # warm-up
    bare = best_of(repeat, lambda: sum(1 for _ in ex.nlp.pipe(texts, batch_size=32)))
    ours = best_of(repeat, lambda: sum(1 for _ in ex.extract_many(items, batch_size=64)))
    n = len(items)
    print(f"\n{name}: {n} articles, {words} words, best of {repeat}")
    print(f"candidate sentences (parsed): {sum(s.candidate for s in sents)} of {len(sents)}, "
          f"{share:.0%} of the characters")
    print(f"{'':24}{'seconds':>9}{'words/s':>11}{'articles/s':>12}")
    print(f"{'bare nlp.pipe':24}{bare:9.2f}{words / bare:11.0f}{n / bare:12.1f}")
    print(f"{'Extractor.extract_many':24}{ours:9.2f}{words / ours:11.0f}{n / ours:12.1f}")
    print(f"speed-up: {bare / ours:.2f}x")


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    """The fastest of ``repeat`` timed calls."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


if __name__ == "__main__":
    main()
