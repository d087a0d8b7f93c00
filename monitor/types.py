"""Records passed between the pipeline's stages.

Every stage takes and returns these frozen dataclasses; none of them does I/O. Facts follow
``../shared/eval/SCHEMA.md``: ``Fact.to_schema()`` gives exactly the schema's fields, and the
evidence (sentence, character offsets, confidence) travels beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Metric = Literal["ghg", "scope1", "scope2", "scope3", "energy", "water"]
Direction = Literal["increase", "decrease"]
ChangeStatus = Literal["reported", "forecast", "target"]
InvestmentStatus = Literal["announced", "spent"]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a parsed feed."""

    feed_url: str
    entry_id: str  # GUID, else canonical link, else content hash
    link: str | None
    title: str
    published: datetime | None = None
    summary: str = ""  # plain text
    content: str = ""  # plain text of the fullest content the feed carries


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed document: its metadata and entries."""

    url: str
    title: str
    entries: tuple[FeedEntry, ...]
    version: str = ""  # 'rss20', 'atom10', 'json1', ...
    bozo: str | None = None  # feedparser's complaint, when the document was malformed
    ttl: int | None = None  # RSS <ttl>: minutes the feed may be cached


@dataclass(frozen=True, slots=True)
class Article:
    """The main text of one entry, from its page or, failing that, from the feed."""

    url: str | None
    title: str
    text: str
    published: datetime | None = None
    source: Literal["page", "feed"] = "page"
    language: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a fact was found: its sentence, character offsets into the text, and confidence."""

    sentence: str
    start: int  # offset of the sentence in the text passed to the extractor
    end: int
    confidence: float = 0.5


@dataclass(frozen=True, slots=True)
class EmissionChange:
    company: str | None
    metric: Metric
    direction: Direction
    value: float
    unit: Literal["%", "tCO2e"]
    base_year: int | None
    year: int | None
    status: ChangeStatus
    evidence: Evidence | None = None
    type: Literal["emission_change"] = field(default="emission_change", init=False)

    def to_schema(self) -> dict[str, Any]:
        return {"type": self.type, "company": self.company, "metric": self.metric,
                "direction": self.direction, "value": _num(self.value), "unit": self.unit,
                "base_year": self.base_year, "year": self.year, "status": self.status}


@dataclass(frozen=True, slots=True)
class Investment:
    company: str | None
    amount: float
    currency: str
    purpose: str | None
    by_year: int | None
    status: InvestmentStatus
    evidence: Evidence | None = None
    type: Literal["investment"] = field(default="investment", init=False)

    def to_schema(self) -> dict[str, Any]:
        return {"type": self.type, "company": self.company, "amount": _num(self.amount),
                "currency": self.currency, "purpose": self.purpose, "by_year": self.by_year,
                "status": self.status}


@dataclass(frozen=True, slots=True)
class Target:
    company: str | None
    goal: str
    year: int | None
    evidence: Evidence | None = None
    type: Literal["target"] = field(default="target", init=False)

    def to_schema(self) -> dict[str, Any]:
        return {"type": self.type, "company": self.company, "goal": self.goal, "year": self.year}


Fact = EmissionChange | Investment | Target


def fact_to_dict(fact: Fact) -> dict[str, Any]:
    """The schema fields of a fact plus its evidence (sentence, offsets, confidence)."""
    out = fact.to_schema()
    if fact.evidence is not None:
        out["evidence"] = {"sentence": fact.evidence.sentence, "start": fact.evidence.start,
                           "end": fact.evidence.end, "confidence": round(fact.evidence.confidence, 3)}
    return out


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet's report of an alert."""

    url: str | None
    title: str
    feed: str | None
    published: datetime | None
    sentence: str


@dataclass(frozen=True, slots=True)
class Alert:
    """A reported emission increase by a company, with every source that carried it."""

    key: str  # stable: company|metric|direction|period|value
    company: str
    metric: str
    direction: str
    value: float
    unit: str
    status: str
    year: int | None
    base_year: int | None
    sources: tuple[Source, ...]
    first_seen: datetime
    severity: str = "normal"  # low / normal / high
    pledges: tuple[str, ...] = ()  # the company's stored pledges ('net-zero 2040'): the pledge gap
    contradiction: str | None = None
    id: int | None = None
    # kind 'investment': value/unit are the amount and its currency, status announced/spent,
    # year the by-year; amount_usd converted with the FX table dated fx_date
    kind: str = "emission"
    amount_usd: float | None = None
    fx_date: str | None = None
    purpose: str | None = None
    # distinct story clusters among the sources: outlets carrying the same wire copy count once
    # (None when not computed); len(outlets) - independent_reports outlets repeated another's story
    independent_reports: int | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """Alerts rendered for delivery."""

    subject: str
    text: str
    html: str
    alert_ids: tuple[int, ...]
    created: datetime
