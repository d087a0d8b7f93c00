"""Alert rules: which facts become alerts, how an alert is keyed, how severe it is.

Pure functions over facts and ``AlertConfig``; no I/O and no clock. The store
(``monitor.store``) de-duplicates by ``alert_key``, merges sources from further outlets and
flags contradictions; this module only decides.

An alert is *an emission increase reported by a company*: an ``EmissionChange`` with a company,
direction ``increase`` and status ``reported`` (forecasts and targets never alert), on the
watchlist when one is configured, of a configured metric when metrics are configured, and at
least ``min_percent`` when the value is a percentage.

An investment alert (``[alerts] min_investment_usd`` above 0) is an ``Investment`` by a company
(on the watchlist, when one is configured) whose amount, converted to US dollars with the static
FX table (``monitor.fx``), is at least ``min_investment_usd``. Currencies missing from the table
never alert. See ``investment_key`` for how one investment reported by several outlets stays one
alert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import AlertConfig
from monitor.fx import FxTable
from monitor.types import EmissionChange, Fact, Investment

SEVERITIES = ("low", "normal", "high")

# Magnitude thresholds: (normal from, high from) per unit.
_MAGNITUDE = {"%": (5.0, 20.0), "tCO2e": (100_000.0, 1_000_000.0)}
_CORROBORATED = 3  # independent outlets that raise severity one step


def alert_candidates(facts: Sequence[Fact], rules: AlertConfig) -> list[EmissionChange]:
    """The facts that should raise an alert under ``rules``, in their original order."""
    watch = {canonical_company(name) for name in rules.watchlist if name.strip()}
    metrics = set(rules.metrics)
    out: list[EmissionChange] = []
    for fact in facts:
        if not isinstance(fact, EmissionChange) or not is_reported_increase(fact):
            continue
        assert fact.company is not None  # checked by is_reported_increase
        if watch and canonical_company(fact.company) not in watch:
            continue
        if metrics and fact.metric not in metrics:
            continue
        if fact.unit == "%" and fact.value < rules.min_percent:
            continue
        out.append(fact)
    return out


def is_reported_increase(fact: EmissionChange) -> bool:
    """True for a reported (not forecast, not target) increase attributed to a company."""
    return (bool(fact.company and fact.company.strip()) and fact.direction == "increase"
            and fact.status == "reported")


def canonical_company(name: str) -> str:
    """A company name for comparison: case-folded, inner whitespace collapsed."""
    return re.sub(r"\s+", " ", name).strip().casefold()


def alert_key(fact: EmissionChange) -> str:
    """The stable identity of a real-world change: ``company|metric|direction|period|value``.

    The company is case-folded, the period is the year (else the base year, else empty) and
    the value is rounded to one decimal and carries its unit (``12.5%``, ``1500000tCO2e``), so
    the same change reported by several outlets gets the same key.
    """
    company = canonical_company(fact.company or "")
    period = fact_period(fact)
    return "|".join([company, fact.metric, fact.direction, "" if period is None else str(period),
                     normalised_value(fact.value) + fact.unit])


def fact_period(fact: EmissionChange) -> int | None:
    """The period an emission change refers to: its year, else its base year."""
    return fact.year if fact.year is not None else fact.base_year


def normalised_value(value: float) -> str:
    """``value`` rounded to one decimal, without a trailing ``.0``."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def severity(value: float, unit: str, n_outlets: int) -> str:
    """``low``, ``normal`` or ``high`` from the size of the increase and its corroboration.

    Percentages: below 5 % low, from 5 % normal, from 20 % high. Absolute tonnes: below
    100 000 t low, from 100 000 t normal, from 1 Mt high. Reports by three or more independent
    outlets raise the severity one step.
    """
    normal_from, high_from = _MAGNITUDE.get(unit, _MAGNITUDE["%"])
    score = 0
    if abs(value) >= high_from:
        score = 2
    elif abs(value) >= normal_from:
        score = 1
    if n_outlets >= _CORROBORATED:
        score += 1
    return SEVERITIES[min(score, len(SEVERITIES) - 1)]


# -- investments -----------------------------------------------------------------------------

_INVESTMENT_MAGNITUDE = (1e9, 10e9)  # US dollars: normal from $1bn, high from $10bn
BUCKETS_PER_DECADE = 10  # amount buckets: each spans a factor of 10**0.1 (about ±12% around its centre)


@dataclass(frozen=True, slots=True)
class InvestmentCandidate:
    """An investment that should alert, with its amount in US dollars."""

    fact: Investment
    amount_usd: float


def investment_candidates(facts: Sequence[Fact], rules: AlertConfig, fx: FxTable) -> list[InvestmentCandidate]:
    """The investments at or above ``rules.min_investment_usd`` (none when it is 0), in order."""
    if rules.min_investment_usd <= 0:
        return []
    watch = {canonical_company(name) for name in rules.watchlist if name.strip()}
    out: list[InvestmentCandidate] = []
    for fact in facts:
        if not isinstance(fact, Investment) or not (fact.company and fact.company.strip()):
            continue
        if watch and canonical_company(fact.company) not in watch:
            continue
        usd = fx.to_usd(fact.amount, fact.currency)
        if usd is not None and usd >= rules.min_investment_usd:
            out.append(InvestmentCandidate(fact, usd))
    return out


def amount_bucket(amount_usd: float) -> int:
    """The amount's bucket on a log scale, ten per decade: $10bn and $10.5bn (or €9.3bn) share one."""
    return round(math.log10(max(amount_usd, 1.0)) * BUCKETS_PER_DECADE)


def investment_key(company: str, amount_usd: float, announced_year: int | None) -> str:
    """The identity of one investment: ``investment|company|year announced|amount bucket``.

    The year is when it was announced (the article's publication year), not its by-year, and the
    purpose is left out: outlets word the purpose differently and not all give a by-year, while
    the company, the time and the size (in dollars, so €9.3bn and $10bn agree) identify it.
    """
    year = "" if announced_year is None else str(announced_year)
    return "|".join(["investment", canonical_company(company), year, f"usd{amount_bucket(amount_usd)}"])


def investment_severity(amount_usd: float, n_outlets: int) -> str:
    """``low`` below $1bn, ``normal`` from $1bn, ``high`` from $10bn; three outlets raise it one step."""
    normal_from, high_from = _INVESTMENT_MAGNITUDE
    score = 2 if amount_usd >= high_from else 1 if amount_usd >= normal_from else 0
    if n_outlets >= _CORROBORATED:
        score += 1
    return SEVERITIES[min(score, len(SEVERITIES) - 1)]


__all__ = ["InvestmentCandidate", "alert_candidates", "amount_bucket", "investment_candidates",
           "investment_key", "investment_severity", "alert_key", "canonical_company", "fact_period",
           "is_reported_increase", "normalised_value", "severity", "SEVERITIES"]
