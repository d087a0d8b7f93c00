"""Alert rules (monitor.alerts): candidates, keys and severity, table-driven."""

from __future__ import annotations

import pytest

from monitor.alerts import alert_candidates, alert_key, severity
from monitor.config import AlertConfig
from monitor.types import EmissionChange, Evidence, Fact, Investment, Target


def change(company: str | None = "Acme Corp", *, metric: str = "ghg", direction: str = "increase",
           value: float = 12.0, unit: str = "%", base_year: int | None = None, year: int | None = 2023,
           status: str = "reported", sentence: str = "Acme's emissions rose 12% in 2023.") -> EmissionChange:
    return EmissionChange(company=company, metric=metric, direction=direction, value=value,  # type: ignore[arg-type]
                          unit=unit, base_year=base_year, year=year, status=status,  # type: ignore[arg-type]
                          evidence=Evidence(sentence, 0, len(sentence), 0.8))


ALL = AlertConfig()

CASES = [
    # (id, fact, rules, alerts?)
    ("reported increase alerts", change(), ALL, True),
    ("forecast excluded", change(status="forecast"), ALL, False),
    ("target excluded", change(status="target"), ALL, False),
    ("decrease excluded", change(direction="decrease"), ALL, False),
    ("no company excluded", change(company=None), ALL, False),
    ("blank company excluded", change(company="  "), ALL, False),
    ("watchlist match, case-insensitive", change(company="ACME corp"), AlertConfig(watchlist=("Acme Corp",)), True),
    ("watchlist miss", change(company="Globex"), AlertConfig(watchlist=("Acme Corp",)), False),
    ("min_percent below", change(value=4.9), AlertConfig(min_percent=5.0), False),
    ("min_percent at threshold", change(value=5.0), AlertConfig(min_percent=5.0), True),
    ("min_percent ignores tonnes", change(value=3.0, unit="tCO2e"), AlertConfig(min_percent=5.0), True),
    ("metric filter match", change(metric="scope3"), AlertConfig(metrics=("scope3",)), True),
    ("metric filter miss", change(metric="water"), AlertConfig(metrics=("ghg", "scope1")), False),
]


@pytest.mark.parametrize(("fact", "rules", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_alert_candidates_rules(fact: EmissionChange, rules: AlertConfig, expected: bool) -> None:
    assert (alert_candidates([fact], rules) == [fact]) is expected


def test_alert_candidates_skips_other_fact_types_and_keeps_order() -> None:
    first, second = change(company="Acme Corp"), change(company="Globex", value=30.0)
    facts: list[Fact] = [Investment("Acme Corp", 1e9, "USD", "wind", 2030, "announced"), first,
             Target("Acme Corp", "net-zero carbon emissions", 2040), change(status="forecast"), second]
    assert alert_candidates(facts, ALL) == [first, second]


def test_alert_key_is_stable_across_outlets() -> None:
    a = change(company="Acme Corp", value=12.0, sentence="one outlet's wording")
    b = change(company="  acme   CORP ", value=12.04, sentence="another outlet's wording")
    assert alert_key(a) == alert_key(b) == "acme corp|ghg|increase|2023|12%"


KEY_CASES = [
    ("year is the period", change(year=2023, base_year=2019), "acme corp|ghg|increase|2023|12%"),
    ("base year when no year", change(year=None, base_year=2019), "acme corp|ghg|increase|2019|12%"),
    ("no period", change(year=None, base_year=None), "acme corp|ghg|increase||12%"),
    ("value rounded to one decimal", change(value=12.345), "acme corp|ghg|increase|2023|12.3%"),
    ("tonnes keep their unit", change(value=1_500_000.0, unit="tCO2e"), "acme corp|ghg|increase|2023|1500000tCO2e"),
    ("metric in key", change(metric="scope2"), "acme corp|scope2|increase|2023|12%"),
]


@pytest.mark.parametrize(("fact", "key"), [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES])
def test_alert_key_normalises(fact: EmissionChange, key: str) -> None:
    assert alert_key(fact) == key


def test_alert_key_differs_for_different_changes() -> None:
    keys = {alert_key(change(value=12.0)), alert_key(change(value=15.0)), alert_key(change(year=2022)),
            alert_key(change(company="Globex")), alert_key(change(metric="scope1"))}
    assert len(keys) == 5


SEVERITY_CASES = [
    (2.0, "%", 1, "low"),
    (5.0, "%", 1, "normal"),
    (19.9, "%", 1, "normal"),
    (20.0, "%", 1, "high"),
    (2.0, "%", 3, "normal"),  # corroborated by three outlets: one step up
    (10.0, "%", 4, "high"),
    (50.0, "%", 5, "high"),  # capped
    (50_000.0, "tCO2e", 1, "low"),
    (250_000.0, "tCO2e", 1, "normal"),
    (2_000_000.0, "tCO2e", 1, "high"),
]


@pytest.mark.parametrize(("value", "unit", "outlets", "expected"), SEVERITY_CASES)
def test_severity(value: float, unit: str, outlets: int, expected: str) -> None:
    assert severity(value, unit, outlets) == expected
