"""Company resolution, table-driven: who a fact belongs to. Speakers (analysts, economists and the
firms that employ them), regulators and forecasters are never the subject; titles, anaphora ('the
company', 'the retailer', 'it') and subsidiaries resolve to the article's company."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor
from monitor.extract.context import Mention, speaker_mentions, speaker_patterns

PUB = date(2025, 3, 10)


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor.load()


def owners(ex: Extractor, text: str, title: str | None = None) -> list[tuple[str, str | None]]:
    return [(f.type, f.company) for f in ex.extract(text, title, PUB)]


# (title, text, expected (type, company) of every fact)
CASES = [
    (None, "Emissions could rise as much as 15% at Alphabet this year, analysts at Morgan Stanley said.",
     [("emission_change", "Google")]),
    (None, "Bernstein analysts expect Shell's emissions to rise 3% next year.",
     [("emission_change", "Shell")]),
    (None, "A Jefferies analyst said Stellantis's emissions rose 4% in 2024.",
     [("emission_change", "Stellantis")]),
    ("Tata Steel under pressure", "Citi economists said the steelmaker's emissions rose 5% last year.",
     [("emission_change", "Tata Steel")]),
    (None, "Greenpeace said Meta's data centre electricity use jumped 34% in 2024.",
     [("emission_change", "Meta")]),
    ("Nvidia emissions climb as AI demand soars", "The company said emissions rose 7% in the year.",
     [("emission_change", "Nvidia")]),
    ("Tesco results", "The retailer's Scope 3 emissions grew 4% in fiscal 2024.",
     [("emission_change", "Tesco")]),
    (None, "Amazon Web Services said it would invest $11 billion in data centres in Georgia.",
     [("investment", "Amazon")]),
    (None, "Emissions from Japan's power sector rose 2% in 2023, while Hitachi said its own emissions fell 14%.",
     [("emission_change", None), ("emission_change", "Hitachi")]),
    (None, "The International Energy Agency said data centre electricity use could double by 2026.",
     [("emission_change", None)]),
    (None, "Morgan Stanley said its financed emissions fell 9% in 2023.",
     [("emission_change", "Morgan Stanley")]),
]


@pytest.mark.parametrize("title,text,expected", CASES, ids=[c[1][:40] for c in CASES])
def test_company_resolution(ex: Extractor, title: str | None, text: str, expected: list[tuple]) -> None:
    assert owners(ex, text, title) == expected


@pytest.mark.parametrize("text,name,is_speaker", [
    ("analysts at Morgan Stanley said", "Morgan Stanley", True),
    ("economists from HSBC warned", "HSBC", True),
    ("a Bernstein analyst said", "Bernstein", True),
    ("Citi's chief economist said", "Citi", True),
    ("Jefferies equity analysts wrote", "Jefferies", True),
    ("HSBC said its emissions fell", "HSBC", False),
    ("the analyst said HSBC's emissions fell", "HSBC", False),
    ("shares in Shell fell, analysts said", "Shell", False),
])
def test_speaker_mentions(text: str, name: str, is_speaker: bool) -> None:
    start = text.index(name)
    m = Mention(start, start + len(name), name, name)
    patterns = speaker_patterns(["analyst", "economist"], ["at", "from"])
    assert (speaker_mentions(text, [m], patterns) == [m]) is is_speaker
