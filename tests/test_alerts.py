"""Alert rules (monitor.alerts): candidates, keys and severity, table-driven."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.alerts import (
    alert_candidates,
    alert_key,
    amount_bucket,
    investment_candidates,
    investment_key,
    investment_severity,
    severity,
)
from monitor.config import AlertConfig
from monitor.errors import MonitorError
from monitor.fx import FxTable, converted_phrase, format_money, load_fx_table
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


# -- investments and the FX table ------------------------------------------------------------

FX = FxTable(as_of="2025-06-30", source="test table", rates={"USD": 1.0, "EUR": 1.1, "JPY": 0.0067, "GBP": 1.3})


def invest(amount: float, currency: str = "USD", company: str | None = "Acme Corp",
           purpose: str | None = "data centres", by_year: int | None = 2030) -> Investment:
    return Investment(company=company, amount=amount, currency=currency, purpose=purpose, by_year=by_year,
                      status="announced")


BN = 1e9
INVESTMENT_CASES = [
    # (id, fact, rules, expected amount in USD or None for no alert)
    ("off when min is 0", invest(50 * BN), AlertConfig(), None),
    ("USD at threshold", invest(1 * BN), AlertConfig(min_investment_usd=BN), 1 * BN),
    ("USD below", invest(0.99 * BN), AlertConfig(min_investment_usd=BN), None),
    ("EUR converted above", invest(0.95 * BN, "EUR"), AlertConfig(min_investment_usd=BN), 1.045 * BN),
    ("EUR converted below", invest(0.9 * BN, "EUR"), AlertConfig(min_investment_usd=BN), None),
    ("JPY 100bn is $670m", invest(100 * BN, "JPY"), AlertConfig(min_investment_usd=BN), None),
    ("JPY 200bn is $1.34bn", invest(200 * BN, "JPY"), AlertConfig(min_investment_usd=BN), 1.34 * BN),
    ("currency code case-insensitive", invest(2 * BN, "gbp"), AlertConfig(min_investment_usd=BN), 2.6 * BN),
    ("currency not in table", invest(900 * BN, "XAU"), AlertConfig(min_investment_usd=BN), None),
    ("no company", invest(5 * BN, company=None), AlertConfig(min_investment_usd=BN), None),
    ("watchlist miss", invest(5 * BN), AlertConfig(min_investment_usd=BN, watchlist=("Globex",)), None),
    ("watchlist hit", invest(5 * BN), AlertConfig(min_investment_usd=BN, watchlist=("acme corp",)), 5 * BN),
]


@pytest.mark.parametrize(("fact", "rules", "usd"), [c[1:] for c in INVESTMENT_CASES],
                         ids=[c[0] for c in INVESTMENT_CASES])
def test_investment_rule_compares_in_usd(fact: Investment, rules: AlertConfig, usd: float | None) -> None:
    found = investment_candidates([change(), fact], rules, FX)
    if usd is None:
        assert found == []
    else:
        assert [c.fact for c in found] == [fact]
        assert found[0].amount_usd == pytest.approx(usd)


def test_investment_key_one_per_announcement() -> None:
    # the same $10bn plan reported as $10bn, $10.5bn and €9.3bn is one alert; $12bn, another year
    # or another company is another
    k = investment_key("Acme Corp", 10 * BN, 2025)
    assert k == "investment|acme corp|2025|usd100"
    assert investment_key("ACME  Corp", 10.5 * BN, 2025) == k
    assert investment_key("Acme Corp", 9.3 * 1.1 * BN, 2025) == k
    assert len({k, investment_key("Acme Corp", 12.5 * BN, 2025), investment_key("Acme Corp", 10 * BN, 2024),
                investment_key("Globex", 10 * BN, 2025)}) == 4
    assert amount_bucket(1 * BN) == 90 and amount_bucket(100 * BN) == 110


@pytest.mark.parametrize(("usd", "outlets", "expected"), [
    (0.5 * BN, 1, "low"), (1 * BN, 1, "normal"), (9.9 * BN, 2, "normal"), (10 * BN, 1, "high"),
    (0.5 * BN, 3, "normal"), (2 * BN, 3, "high"), (20 * BN, 5, "high")])
def test_investment_severity(usd: float, outlets: int, expected: str) -> None:
    assert investment_severity(usd, outlets) == expected


@pytest.mark.parametrize(("amount", "currency", "usd", "expected"), [
    (10 * BN, "EUR", 10.9 * BN, "€10bn (≈ $10.9bn at 2025-06-30 rates)"),
    (2.5 * BN, "USD", 2.5 * BN, "$2.5bn"),
    (750e6, "GBP", 975e6, "£750m (≈ $975m at 2025-06-30 rates)"),
    (12 * BN, "SEK", 1.176 * BN, "12bn SEK (≈ $1.18bn at 2025-06-30 rates)"),
    (1.25e12, "JPY", 8.4 * BN, "¥1.25tn (≈ $8.4bn at 2025-06-30 rates)"),
    (5000, "XAU", None, "5,000 XAU (no exchange rate)"),
])
def test_converted_amounts_show_the_table_date(amount: float, currency: str, usd: float | None,
                                                 expected: str) -> None:
    assert converted_phrase(amount, currency, usd, "2025-06-30") == expected


def test_shipped_fx_table_is_dated_sourced_and_covers_the_extractor_currencies() -> None:
    table = load_fx_table()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.as_of) and table.source
    money = json.loads((Path(__file__).parent.parent / "models" / "money.json").read_text(encoding="utf-8"))
    emitted = set(money["prefix"].values()) | set(money["suffix"].values())
    assert emitted <= set(table.rates), emitted - set(table.rates)
    assert table.rates["USD"] == 1.0
    # plausible magnitudes: a euro is worth more than a dollar, a yen far less
    assert 1.0 < table.rates["EUR"] < 1.3 and 0.004 < table.rates["JPY"] < 0.01
    assert format_money(table.to_usd(10 * BN, "USD") or 0, "USD") == "$10bn"


def test_bad_fx_table_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "fx_usd.json").write_text('{"as_of": "2025-06-30", "source": "x", "usd_per_unit": {"EUR": -1}}')
    with pytest.raises(MonitorError, match="fx_usd.json"):
        load_fx_table(tmp_path)
