"""The extractor frees what spaCy interns per batch (``nlp.memory_zone()``), so a long-running
daemon's string store, and with it resident memory, stays flat; facts outlive the zone."""

from __future__ import annotations

import random
import string
from datetime import date

import pytest

from monitor.extract import Extractor
from monitor.types import EmissionChange


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor.load()


def _articles(n: int, seed: int) -> list[tuple[str, str, date]]:
    """Articles full of words spaCy has never seen (each one a new string-store entry without a
    memory zone), each with one emission change."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        junk = " and ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(15))
        # the new words sit in the candidate sentence, so spaCy parses (and interns) them
        text = f"Unilever said its greenhouse gas emissions rose {i % 40 + 2}% in 2023, citing {junk}."
        out.append((text, f"Report {i}", date(2024, 5, 1)))
    return out


def test_string_store_stays_flat_with_memory_zones(ex: Extractor) -> None:
    ex.memory_zones = True
    list(ex.extract_many(_articles(5, seed=1)))  # warm up: labels and fixed strings
    before = len(ex.nlp.vocab.strings)
    results = list(ex.extract_many(_articles(120, seed=2), batch_size=40))
    assert len(ex.nlp.vocab.strings) == before
    # the facts are plain records that stay valid after their zone closed
    values = [f.value for facts in results for f in facts if isinstance(f, EmissionChange)]
    assert values == [float(i % 40 + 2) for i in range(120)]
    assert all(f.evidence.sentence.startswith("Unilever said") for facts in results for f in facts
               if isinstance(f, EmissionChange))


def test_string_store_grows_without_memory_zones(ex: Extractor) -> None:
    """The control: the same input without zones interns the new words for good."""
    ex.memory_zones = False
    try:
        before = len(ex.nlp.vocab.strings)
        list(ex.extract_many(_articles(40, seed=3), batch_size=40))
        assert len(ex.nlp.vocab.strings) > before + 500
    finally:
        ex.memory_zones = True


def test_reentrant_use_from_a_consumer_does_not_nest_zones(ex: Extractor) -> None:
    """A consumer that calls the extractor while iterating its results gets correct facts."""
    ex.memory_zones = True
    outer = ex.extract_many(_articles(3, seed=4), batch_size=1)
    got = []
    for facts in outer:
        inner = ex.extract("Nokia said its carbon footprint fell 12% in 2023.", None, date(2024, 2, 1))
        got.append((len(facts), [(f.company, f.value) for f in inner if isinstance(f, EmissionChange)]))
    assert got == [(1, [("Nokia", 12.0)])] * 3
