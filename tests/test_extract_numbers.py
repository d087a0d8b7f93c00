"""Table-driven tests for monitor/extract/numbers.py (pure; no spaCy)."""

from __future__ import annotations

import pytest

from monitor.extract.numbers import find_multipliers, find_percents, find_quantities, find_tonnes, parse_number


@pytest.mark.parametrize("text,value", [
    ("12", 12.0), ("1,234.5", 1234.5), (".5", 0.5), ("five", 5.0), ("twenty-two", 22.0),
    ("ninety nine", 99.0), ("one hundred", 100.0), ("fourteen", 14.0), ("cat", None), ("twenty-cat", None),
])
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text,expected", [
    ("emissions rose 13% last year", [(13.0, "pct")]),
    ("emissions rose 13 % last year", [(13.0, "pct")]),
    ("fell 4.5 percent", [(4.5, "pct")]),
    ("fell 18 per cent in 2023", [(18.0, "pct")]),
    ("up 7pc on the year", [(7.0, "pct")]),
    ("up 7 pct on the year", [(7.0, "pct")]),
    ("down twenty-two per cent", [(22.0, "pct")]),
    ("a five percent cut", [(5.0, "pct")]),
    ("rose 5-7%", [(5.0, "pct")]),
    ("cut by 45–50% by 2030", [(45.0, "pct")]),
    ("rose 5% to 7%", [(5.0, "pct")]),
    ("between 5 and 7 per cent", [(5.0, "pct")]),
    ("fell 2 percentage points", [(2.0, "pp")]),
    ("rose 1.5 ppts", [(1.5, "pp")]),
    ("no number here", []),
    ("in 2023 were 48% higher than in 2019", [(48.0, "pct")]),
    ("3% and 4%", [(3.0, "pct"), (4.0, "pct")]),
])
def test_find_percents(text: str, expected: list[tuple[float, str]]) -> None:
    assert [(q.value, q.kind) for q in find_percents(text)] == expected


@pytest.mark.parametrize("text,expected", [
    ("emissions doubled", [(100.0, "increase")]),
    ("its footprint more than doubled", [(100.0, "increase")]),
    ("energy use tripled", [(200.0, "increase")]),
    ("water use trebled", [(200.0, "increase")]),
    ("power demand quadrupled", [(300.0, "increase")]),
    ("emissions halved since 2019", [(50.0, "decrease")]),
    ("aims to halve emissions", [(50.0, "decrease")]),
    ("halving emissions by 2030", [(50.0, "decrease")]),
    ("cut by half", [(50.0, None)]),
    ("reduced by a quarter", [(25.0, None)]),
    ("fell by nearly a fifth", [(20.0, None)]),
    ("rose by about a tenth", [(10.0, None)]),
    ("cut by two-fifths", [(40.0, None)]),
    ("down by three quarters", [(75.0, None)]),
    ("a fifth of its emissions", []),
    ("trims operated emissions by half a million tonnes", []),
    ("rose by a quarter of a percentage point", []),
    ("a double-digit rise", []),
])
def test_find_multipliers(text: str, expected: list[tuple[float, str | None]]) -> None:
    assert [(q.value, q.direction) for q in find_multipliers(text)] == expected


def test_fraction_third() -> None:
    (q,) = find_multipliers("cut emissions by a third")
    assert q.value == pytest.approx(33.333, rel=1e-3)


@pytest.mark.parametrize("text,value", [
    ("14.3 million tonnes of carbon dioxide", 14_300_000),
    ("14.3 Mt", 14_300_000),
    ("2 MtCO2e", 2_000_000),
    ("500,000 metric tons of CO2", 500_000),
    ("1.2 billion tonnes", 1_200_000_000),
    ("3 Gt", 3_000_000_000),
    ("40 kt", 40_000),
    ("900 tCO2e", 900),
    ("five million tonnes", 5_000_000),
])
def test_find_tonnes(text: str, value: float) -> None:
    (q,) = find_tonnes(text)
    assert q.value == pytest.approx(value) and q.unit == "tCO2e"


def test_year_is_not_tonnes_or_percent() -> None:
    assert find_tonnes("in 2023 tonnes were shipped") == []


def test_offsets_point_into_text() -> None:
    text = "Emissions rose 13% to 14.3 million tonnes and then doubled."
    for q in find_quantities(text):
        assert text[q.start:q.end] in q.text or q.text in text
        assert 0 <= q.start < q.end <= len(text)
    kinds = [q.kind for q in find_quantities(text)]
    assert kinds == ["pct", "tonnes", "mult"]
