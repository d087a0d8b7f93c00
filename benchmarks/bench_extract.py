"""Extractor throughput vs bare ``nlp.pipe`` over the same texts (the dev set), in one run.

Usage: ``python benchmarks/bench_extract.py [DEV.jsonl] [--repeat N] [--texts DIR]``. Prints words/s and
articles/s for (a) ``nlp.pipe`` over every title and text with the same spaCy model and (b)
``Extractor.extract_many`` (pre-filter + parse of candidate sentences + rules), and their ratio.
``--texts DIR`` benchmarks plain-text articles instead (every ``*.expected.txt`` under DIR, e.g.
``../shared/realworld/html``: general news, where few sentences can hold a fact).
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
    """Run both and print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--texts", type=Path, help="a directory of *.expected.txt articles to use instead")
    args = ap.parse_args()
    if args.texts:
        items = [(p.read_text(encoding="utf-8", errors="replace"), None, None)
                 for p in sorted(args.texts.rglob("*.expected.txt"))]
    else:
        items = load(args.path)
    ex = Extractor.load()
    words = sum(len((t or "").split()) + len((ti or "").split()) for t, ti, _ in items)
    texts = [f"{ti}\n\n{t}" if ti else t for t, ti, _ in items]
    list(ex.nlp.pipe(texts[:5]))  # warm-up
    bare = best_of(args.repeat, lambda: sum(1 for _ in ex.nlp.pipe(texts, batch_size=32)))
    ours = best_of(args.repeat, lambda: sum(1 for _ in ex.extract_many(items, batch_size=64)))
    n = len(items)
    print(f"{n} articles, {words} words, best of {args.repeat}")
    print(f"{'':22}{'seconds':>9}{'words/s':>11}{'articles/s':>12}")
    print(f"{'bare nlp.pipe':22}{bare:9.2f}{words / bare:11.0f}{n / bare:12.1f}")
    print(f"{'Extractor.extract_many':22}{ours:9.2f}{words / ours:11.0f}{n / ours:12.1f}")
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
