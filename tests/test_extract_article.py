"""Article-level behaviour of the extractor: a fact stated twice is one fact, distinct facts that
share a value stay apart, and title facts carry the title convention for offsets."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor
from monitor.types import EmissionChange, Investment, Target

PUB = date(2025, 7, 1)


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor.load()


def test_headline_repeated_in_page_text_gives_one_fact(ex: Extractor) -> None:
    title = "Amazon's emissions rise 6% as AI build-out continues"
    text = (f"{title}\n\nAmazon said its carbon emissions rose 6% in 2024. Amazon said its carbon emissions "
            "rose 6% in 2024.\n\nIt plans to invest $100bn in AI. It plans to invest $100bn in AI.")
    facts = ex.extract(text, title, PUB)
    ems = [f for f in facts if isinstance(f, EmissionChange)]
    inv = [f for f in facts if isinstance(f, Investment)]
    assert [(f.company, f.value, f.year) for f in ems] == [("Amazon", 6.0, 2024)]
    assert [(f.company, f.amount) for f in inv] == [("Amazon", 100e9)]
    # the full sentence, not the headline repeated at the top of the page text, is the evidence
    assert (ems[0].evidence.start, ems[0].evidence.sentence) == (
        text.index("Amazon said"), "Amazon said its carbon emissions rose 6% in 2024.")


def test_same_value_different_years_are_two_facts(ex: Extractor) -> None:
    text = ("Unilever said its greenhouse gas emissions rose 5% in 2023. "
            "Its emissions had also risen 5% in 2022.")
    got = [(f.value, f.year) for f in ex.extract(text, None, PUB) if isinstance(f, EmissionChange)]
    assert sorted(got) == [(5.0, 2022), (5.0, 2023)]


def test_title_only_facts_use_title_offsets(ex: Extractor) -> None:
    title = "Siemens pledges net zero by 2040"
    facts = ex.extract("The engineering group gave no further details.", title, PUB)
    targets = [f for f in facts if isinstance(f, Target)]
    assert [(t.company, t.year) for t in targets] == [("Siemens", 2040)]
    assert (targets[0].evidence.sentence, targets[0].evidence.start, targets[0].evidence.end) == (title, -1, -1)
