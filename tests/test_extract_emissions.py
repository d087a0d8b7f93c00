"""Table-driven tests for emission changes (monitor/extract/emissions.py) and the document
context (monitor/extract/context.py), on short passages written for these tests and parsed by the
real spaCy model through the real Extractor."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.errors import ExtractionError
from monitor.extract import Extractor
from monitor.extract.context import find_years, split_sentences
from monitor.types import EmissionChange

PUB = date(2024, 6, 12)


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor.load()


def changes(ex: Extractor, text: str, title: str | None = None, published: date | None = PUB) -> list[tuple]:
    facts = [f for f in ex.extract(text, title, published) if isinstance(f, EmissionChange)]
    return [(f.company, f.metric, f.direction, f.value, f.unit, f.status, f.year, f.base_year) for f in facts]


# (passage, expected facts: company, metric, direction, value, unit, status, year, base_year)
CASES = [
    # plain reported changes, year resolution
    ("Unilever said its greenhouse gas emissions rose 7% in 2023.",
     [("Unilever", "ghg", "increase", 7, "%", "reported", 2023, 2022)]),
    ("Nokia said its carbon footprint fell 12% last year.",
     [("Nokia", "ghg", "decrease", 12, "%", "reported", 2023, 2022)]),
    ("Cisco said its scope 3 emissions were 9% higher in 2023 than in 2020.",
     [("Cisco", "scope3", "increase", 9, "%", "reported", 2023, 2020)]),
    ("Oracle said water consumption at its data centres climbed 21% in fiscal 2024.",
     [("Oracle", "water", "increase", 21, "%", "reported", 2024, 2023)]),
    ("Adobe said electricity use across its offices jumped 15% year on year in 2023.",
     [("Adobe", "energy", "increase", 15, "%", "reported", 2023, 2022)]),
    ("IBM said scope 1 emissions dropped 4 per cent in 2022.",
     [("IBM", "scope1", "decrease", 4, "%", "reported", 2022, 2021)]),
    ("Intel said its absolute emissions have fallen 30% since 2019.",
     [("Intel", "ghg", "decrease", 30, "%", "reported", 2023, 2019)]),
    # multipliers and tonnes
    ("Nvidia said the emissions of its offices doubled in 2023.",
     [("Nvidia", "ghg", "increase", 100, "%", "reported", 2023, 2022)]),
    ("Ford said its methane emissions more than halved in 2023.",
     [("Ford", "ghg", "decrease", 50, "%", "reported", 2023, 2022)]),
    # status: targets and forecasts
    ("Danone aims to cut its scope 3 emissions by 30% by 2030 compared with 2020.",
     [("Danone", "scope3", "decrease", 30, "%", "target", 2030, 2020)]),
    ("Siemens expects its energy consumption to rise 5% this year.",
     [("Siemens", "energy", "increase", 5, "%", "forecast", 2024, 2023)]),
    ("Vodafone said its emissions could climb 8% by 2026 as its network grows.",
     [("Vodafone", "ghg", "increase", 8, "%", "forecast", 2026, None)]),
    # anaphora: 'the company', 'it', the title names the subject
    ("The company said its carbon emissions rose 4% in 2023.",
     [("Heineken", "ghg", "increase", 4, "%", "reported", 2023, 2022)]),
    # company in a prepositional phrase, a change noun, a gapped reporting clause, fractions, tonnes
    ("Emissions at Delta Air Lines climbed 11% in 2023 as flying recovered.",
     [("Delta Air Lines", "ghg", "increase", 11, "%", "reported", 2023, 2022)]),
    ("Volvo Cars reported a 9% drop in greenhouse gas emissions for 2023.",
     [("Volvo Cars", "ghg", "decrease", 9, "%", "reported", 2023, 2022)]),
    ("Emissions rose 3% last year, Shell said.",
     [("Shell", "ghg", "increase", 3, "%", "reported", 2023, 2022)]),
    ("Unilever cut its scope 1 and 2 emissions by 74% between 2015 and 2023.",
     [("Unilever", "ghg", "decrease", 74, "%", "reported", 2023, 2015)]),
    ("Meta's electricity consumption grew by a third in 2023.",
     [("Meta", "energy", "increase", 33.3333, "%", "reported", 2023, 2022)]),
    ("Walmart's carbon footprint shrank by 1.2 million tonnes in 2023.",
     [("Walmart", "ghg", "decrease", 1_200_000, "tCO2e", "reported", 2023, 2022)]),
    ("Rio Tinto said its scope 3 emissions increased by 2.5 per cent in the 2023 financial year.",
     [("Rio Tinto", "scope3", "increase", 2.5, "%", "reported", 2023, 2022)]),
    ("Sony said CO2 emissions at its plants fell 11% in fiscal 2024, the year ended March 2025.",
     [("Sony", "ghg", "decrease", 11, "%", "reported", 2025, 2024)]),
    ("Maersk's emissions are projected to rise 4% next year.",
     [("Maersk", "ghg", "increase", 4, "%", "forecast", 2025, 2024)]),
    ("Holcim aims to cut emissions by 20% by 2025 and by 40% by 2030, both against 2018.",
     [("Holcim", "ghg", "decrease", 20, "%", "target", 2025, 2018),
      ("Holcim", "ghg", "decrease", 40, "%", "target", 2030, 2018)]),
    ("Amazon said it will cut emissions 50% by 2030 from 2019 levels.",
     [("Amazon", "ghg", "decrease", 50, "%", "target", 2030, 2019)]),
    # exclusions
    ("Revenue rose 8% at Nestle, while its emissions fell 3%.",
     [("Nestle", "ghg", "decrease", 3, "%", "reported", 2023, 2022)]),
    ("The airline said its fuel burn per passenger fell 3% in 2023.", []),
    ("Apple said its emissions had not increased in 2023.", []),
    ("Chevron triples its lower-carbon spending plan.", []),
    ("The number of customers using its carbon accounting software doubled in 2023, Salesforce said.", []),
    ("Toyota said the carbon intensity of its plants, per vehicle produced, fell 6% in 2023.", []),
    ("Bosch said its emissions did not rise in 2023, while sales rose 5%.", []),
    ("Net sales at Sony rose 11% in 2023, and its cloud revenue grew 20%.", []),
    ("Renault said renewable electricity rose to 60% of its power use in 2023.", []),
    ("Airbus said its emissions totalled 14.3 million tonnes, up from 13.1 million tonnes.", []),
    ("Philips said the avoided emissions from its products grew 17% in 2023.", []),
    ("Would Shell's emissions rise 10% if it expanded its gas business?", []),
    ("If it had bought no clean power, Apple's emissions would have been 30% higher in 2023.", []),
    # a sector's change is a fact without a company (not an alert)
    ("Global aviation emissions rose 9% in 2023, the agency said.",
     [(None, "ghg", "increase", 9, "%", "reported", 2023, 2022)]),
    ("Emissions from India's steel industry rose 8% in 2023.",
     [(None, "ghg", "increase", 8, "%", "reported", 2023, 2022)]),
    ("The share of its electricity from renewables rose 5 percentage points in 2023, Siemens said.", []),
    # the change as a noun: in apposition, or 'the increase of X% in <metric>'
    ("Carbon emissions at Lufthansa Group climbed to 30 million tonnes in 2023, a rise of 9%.",
     [("Lufthansa", "ghg", "increase", 9, "%", "reported", 2023, 2022)]),
    ("The increase of 9% in Lufthansa's emissions in 2023 was driven by long-haul flying.",
     [("Lufthansa", "ghg", "increase", 9, "%", "reported", 2023, 2022)]),
    ("Lufthansa's revenue climbed to 30 billion euros in 2023, a rise of 9%.", []),
    ("The increase of 9% in Lufthansa's revenue was driven by long-haul flying.", []),
    ("A rise of 9% in passenger numbers pushed Lufthansa's emissions higher.", []),
    # fractions
    ("Heidelberg Materials said its scope 1 emissions fell by nearly a fifth between 2019 and 2024.",
     [("Heidelberg Materials", "scope1", "decrease", 20, "%", "reported", 2024, 2019)]),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_emission_changes(ex: Extractor, text: str, expected: list[tuple]) -> None:
    title = "Heineken publishes its climate report" if text.startswith("The company") else None
    assert changes(ex, text, title) == expected


def test_company_mentioned_about_another(ex: Extractor) -> None:
    text = ("An executive at a rival airline said Lufthansa's carbon emissions rose 6% in 2023.")
    got = changes(ex, text, title="Airline chiefs clash over climate claims")
    assert [g[0] for g in got] == ["Lufthansa"]


def test_pronoun_takes_the_nearest_company(ex: Extractor) -> None:
    text = ("Google's water use rose 20% in 2022. Microsoft reported a steeper increase, with its global "
            "water consumption climbing 34% over the same period.")
    got = changes(ex, text, title="Google and Microsoft use more water")
    assert ("Microsoft", "water", "increase", 34) in [g[:4] for g in got]
    assert ("Google", "water", "increase", 20) in [g[:4] for g in got]


def test_title_fact_kept_once(ex: Extractor) -> None:
    title = "Meta's emissions jump 12% as AI spending grows"
    text = "Meta Platforms said on Tuesday that its greenhouse gas emissions rose 12% in 2023."
    got = changes(ex, text, title=title)
    assert got == [("Meta", "ghg", "increase", 12, "%", "reported", 2023, 2022)]


def test_title_fact_with_different_value_is_kept(ex: Extractor) -> None:
    title = "Meta's emissions jump 12% as AI spending grows"
    text = "Meta Platforms said on Tuesday that its greenhouse gas emissions rose 11.8% in 2023."
    got = [g[3] for g in changes(ex, text, title=title)]
    assert sorted(got) == [11.8, 12]


def test_evidence_offsets_point_into_text(ex: Extractor) -> None:
    text = "Intro sentence without facts. Nokia said its carbon footprint fell 12% in 2023. Bye."
    (fact,) = [f for f in ex.extract(text, "Nokia report", PUB) if isinstance(f, EmissionChange)]
    ev = fact.evidence
    assert ev is not None and text[ev.start:ev.end] == ev.sentence
    assert 0.0 <= ev.confidence <= 1.0


def test_title_evidence_convention(ex: Extractor) -> None:
    facts = [f for f in ex.extract("No figures in the body.", "Nokia's emissions fall 12%", PUB)
             if isinstance(f, EmissionChange)]
    assert facts and facts[0].evidence is not None
    assert (facts[0].evidence.start, facts[0].evidence.end) == (-1, -1)
    assert facts[0].evidence.sentence == "Nokia's emissions fall 12%"


def test_extract_many_matches_extract(ex: Extractor) -> None:
    items = [(text, None, PUB) for text, _ in CASES[:6]]
    batched = list(ex.extract_many(items, batch_size=4))
    single = [ex.extract(*item) for item in items]
    assert [[f.to_schema() for f in fs] for fs in batched] == [[f.to_schema() for f in fs] for fs in single]


def test_missing_model_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="not installed"):
        Extractor.load("no_such_model_xyz")


# --- context helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,sentences", [
    ("One. Two three.", ["One.", "Two three."]),
    ("Emissions rose 1.8 times. It said so.", ["Emissions rose 1.8 times.", "It said so."]),
    ("Apple Inc. said so. Mr. Smith agreed.", ["Apple Inc. said so.", "Mr. Smith agreed."]),
    ("The U.S. unit grew. Fine.", ["The U.S. unit grew.", "Fine."]),
    ("Para one.\n\nPara two? Yes!", ["Para one.", "Para two?", "Yes!"]),
    ("'Quoted,' she said. Next one.", ["'Quoted,' she said.", "Next one."]),
])
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e, _ in split_sentences(text)] == sentences


@pytest.mark.parametrize("text,expected", [
    ("in 2023", [(2023, "year")]),
    ("last year", [(2023, "last")]),
    ("this year", [(2024, "this")]),
    ("next year", [(2025, "next")]),
    ("in fiscal 2024", [(2024, "fiscal")]),
    ("in FY24", [(2024, "fiscal")]),
    ("the 2023-24 financial year", [(2024, "fiscal")]),
    ("rose year on year", [(None, "prior")]),
])
def test_find_years(text: str, expected: list[tuple[int | None, str]]) -> None:
    assert [(y.year, y.kind) for y in find_years(text, PUB)] == expected


def test_context_subject_and_anaphora(ex: Extractor) -> None:
    ctx = ex.context("The retailer said on Monday that it would open stores. Its emissions rose 3% in 2023.",
                     "Tesco reports profits", PUB)
    assert ctx.subject == "Tesco"
    sent = ctx.body[1]
    assert sent.company_of(0, 3) == "Tesco"  # 'Its'
    first = ctx.body[0]
    assert first.company_of(0, len("The retailer")) == "Tesco"
    assert ctx.last_year == 2023 and ctx.year_of("last year") == 2023
