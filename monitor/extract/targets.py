"""Targets: a company's climate pledge with its year (net zero, carbon neutral, carbon negative,
100% renewable, water positive, zero waste).

A target is a pledge wording (``models/pledge_patterns.json``) bound to a horizon year: 'by 2040',
'by the end of 2022', 'by the same year', 'by the end of the decade', 'its 2030 net-zero goal',
'from 2030 to 2050' (a moved pledge: only the new year), '(brought forward) to 2040'. Without such
a year there is no target, which leaves out achievement claims ('has been carbon neutral since
2007'). Partial renewable shares ('75% by 2025'), product wordings ('carbon-neutral vessels',
'a net-zero standard') and abandoned pledges are not targets. The pledging company is the subject
of the pledge's clause, resolved like an investor (``investments.resolve_company``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from spacy.tokens import Span

from monitor.extract.investments import SentenceInput, resolve_company, sentence_evidence, sentence_inputs
from monitor.types import Target

MODELS = Path(__file__).resolve().parents[2] / "models"

__all__ = ["find_targets", "targets_in_sentence", "merge_targets", "goal_kind", "may_hold_target"]


@lru_cache(maxsize=1)
def _patterns() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MODELS / "pledge_patterns.json").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(p, re.I)) for kind, pats in _patterns()["kinds"].items() for p in pats]


@dataclass(frozen=True, slots=True)
class _Pledge:
    kind: str
    start: int  # character offsets in the sentence
    end: int
    wording: str


_YEAR_AFTER = [
    (re.compile(r"^[^.;]{0,40}?\bfrom\s+20\d\d\s+(?:to|until)\s+(20\d\d)\b", re.I), "moved"),
    (re.compile(r"^[^.;]{0,120}?\b(?:by|before)\s+(?:the\s+end\s+of\s+|end\s+of\s+|the\s+year\s+)?"
                r"(?:fiscal\s+(?:year\s+)?)?(20\d\d)\b", re.I), "year"),
    (re.compile(r"^[^.;]{0,120}?\bby\s+the\s+same\s+(?:year|date)\b", re.I), "same"),
    (re.compile(r"^(?:\s+[\w-]+){0,3}?\s+in\s+(20[3-9]\d)\b(?!\s*(?:levels?|figures?|baseline))", re.I), "in_year"),
    (re.compile(r"^[^.;]{0,120}?\bby\s+(?:the\s+end\s+of\s+)?(?:the|this)\s+decade\b", re.I), "decade"),
    (re.compile(r"^[^.;]{0,60}?(?:,\s*|\s)to\s+(20\d\d)\b", re.I), "moved"),
    (re.compile(r"^(?:\s+[\w-]+){0,3}?\s+(?:target|goal|ambition|pledge|deadline)\s+(?:date\s+)?(?:for|of)\s+"
                r"(20\d\d)\b", re.I), "year"),
]
_FY_RANGE = re.compile(r"\b(?:the\s+)?(?:financial|fiscal)\s+year\s+(20)\d\d\s?[-–/]\s?(\d\d)\b", re.I)
_FROM_DATE = re.compile(r"^[^.;]{0,20}?\bfrom\s+(?:[A-Z][a-z]+\s+\d{1,2},?\s+)?(20\d\d)\b")
_YEAR_BEFORE = re.compile(r"\b(20\d\d)\s+$")
_GOAL_NOUN_AFTER = re.compile(r"^[\w\s-]{0,30}?\b(?:goal|goals|target|targets|ambition|pledge|commitment|aim|"
                              r"deadline|plan)\b", re.I)
_SCOPE = re.compile(r"^(?:\s*(?:(?:in|across|for|from|at)\s+(?:its|their|our|the)\s+|(?:in|across|for|from|at)\s+)"
                    r"[\w\s&-]{2,50}?)(?=\s+(?:by|from|to)\b|,|$)", re.I)
_LEAD_WORDS = re.compile(r"^\s*((?:(?:carbon|greenhouse\s+gas|ghg|co2|carbon\s+dioxide|emissions?|company|bank|"
                         r"business|energy\s+business|upstream|scope\s+[123](?:\s+and\s+[123])?|operations|"
                         r"operational)\b\s*)+)", re.I)
_MODAL = re.compile(r"\b(?:will|would|shall)\s+(?:be|become)\s+$", re.I)


def goal_kind(goal: str) -> str:
    """The kind a pledge wording folds into (as ``score.py`` does): 'net-zero', 'carbon-neutral', ..."""
    g = re.sub(r"[^a-z0-9%]+", " ", goal.lower())
    for kind, words in (("net-zero", ("net zero", "netzero")), ("water-positive", ("water",)),
                        ("carbon-negative", ("negative",)), ("carbon-neutral", ("neutral",)),
                        ("renewable", ("renewable",)), ("zero-waste", ("waste",))):
        if any(w in g for w in words):
            return kind
    return g.strip()


def _pledges(text: str) -> list[_Pledge]:
    """Pledge wordings in a sentence, longest first where they overlap."""
    found: list[_Pledge] = []
    for kind, pattern in _compiled():
        for m in pattern.finditer(text):
            found.append(_Pledge(kind, m.start(), m.end(), m.group(0)))
    if "renewable" in text.lower():
        for m in re.finditer(_patterns()["renewable_share_continuation"], text, re.I):
            found.append(_Pledge("100% renewable", m.start(), m.end(), "100% renewable energy"))
    found.sort(key=lambda p: (p.start, -(p.end - p.start)))
    kept: list[_Pledge] = []
    for p in found:
        if kept and p.start < kept[-1].end:
            continue
        kept.append(p)
    return kept


def may_hold_target(text: str) -> bool:
    """Cheap pre-check for a sentence (no spaCy): a pledge wording and a year-like number."""
    return bool(re.search(r"\b20\d\d\b|same\s+(?:year|date)|decade", text)) and bool(_pledges(text))


def _is_product(text: str, pledge: _Pledge) -> bool:
    """'carbon-neutral vessels', 'a net-zero standard', 'net-zero dates': not a company pledge."""
    nxt = re.match(r"^[\s-]*(?:(?:energy|emissions?|carbon|co2)\s+)?([A-Za-z]+)", text[pledge.end:])
    return bool(nxt) and nxt.group(1).lower() in set(_patterns()["product_nouns"])  # type: ignore[union-attr]


def _before(text: str, pledge: _Pledge, words: list[str], span: int = 45) -> bool:
    window = text[max(0, pledge.start - span):pledge.start].lower()
    return any(re.search(rf"\b{re.escape(w)}\b", window) for w in words)


def _bound_year(text: str, pledge: _Pledge, published: date | None, last_year: int | None) -> int | None:
    """The horizon year bound to a pledge wording, or None."""
    # fiscal-year ranges end in their second year: 'by the financial year 2031-32' -> 2032
    after = _FY_RANGE.sub(lambda m: f"{m.group(1)}{m.group(2)}", text[pledge.end:])
    if re.match(r"^[^.;]{0,40}?\bsince\b", after, re.I) and not re.match(r"^[^.;]{0,40}?\bby\s+20\d\d", after):
        return None
    before = text[:pledge.start]
    m_before = _YEAR_BEFORE.search(before[-12:]) if re.search(r"\b20\d\d\s+$", before) else None
    if m_before and _GOAL_NOUN_AFTER.match(after):
        if _before(text, pledge, _patterns()["abandoned_before"], 30):
            return None
        return int(m_before.group(1))
    for pattern, kind in _YEAR_AFTER:
        m = pattern.match(after)
        if m is None:
            continue
        if kind == "moved":
            return int(m.group(1))
        if kind == "year":
            if _before(text, pledge, _patterns()["abandoned_before"], 35):
                return None
            return int(m.group(1))
        if kind == "in_year":
            # 'reaching carbon neutrality in 2050' / 'become net zero in 2040': only after a verb of arriving
            if re.search(r"\b(?:reach|reaching|achieve|achieving|become|becoming|be|go|going|turn|turning|hit|"
                         r"hitting|attain|attaining)\s+(?:\w+\s+){0,2}$", text[:pledge.start], re.I):
                return int(m.group(1))
            continue
        if kind == "same":
            earlier = re.findall(r"\bby\s+(?:the\s+end\s+of\s+)?(20\d\d)\b", before)
            return int(earlier[-1]) if earlier else last_year
        if kind == "decade" and published is not None:
            return (published.year // 10 + 1) * 10
    if _MODAL.search(before[-25:]):
        m = _FROM_DATE.match(after)
        if m:
            return int(m.group(1))
    return None


def _wording(text: str, pledge: _Pledge) -> str:
    """The pledge as worded: the kind's phrase plus its lead words and scope ('net-zero emissions
    across its value chain')."""
    if pledge.wording == "100% renewable energy":
        return pledge.wording
    if pledge.kind == "carbon-negative" and "negative" not in pledge.wording.lower():
        return "carbon negative"
    words = pledge.wording
    rest = text[pledge.end:]
    lead = _LEAD_WORDS.match(rest)
    if lead and pledge.kind in {"net-zero", "carbon-neutral"}:
        words += " " + lead.group(1).strip()
        rest = rest[lead.end(1):]
    scope = _SCOPE.match(rest)
    if scope and pledge.kind in {"net-zero", "carbon-neutral", "100% renewable"} and len(scope.group(0)) < 50:
        words += " " + scope.group(0).strip()
    if pledge.kind == "100% renewable" and not words.lower().startswith("100"):
        energy = re.search(r"energy|electricity|power", words, re.I)
        words = f"100% renewable {energy.group(0).lower() if energy else 'energy'}"
    return re.sub(r"\s+", " ", words).strip(" ,")


def _continuations(text: str, pledge: _Pledge, end_of_year: int) -> list[tuple[str, int]]:
    """', and by 2030 in its Permian operations' / 'and across its financed emissions by 2050'."""
    out = []
    rest = text[end_of_year:]
    m = re.match(r"^,?\s+and\s+by\s+(20\d\d)\s+((?:in|across|for)\s+[\w\s&-]{2,50}?)(?=[,.;]|$)", rest, re.I)
    if m:
        out.append((m.group(2).strip(), int(m.group(1))))
    m = re.match(r"^,?\s+and\s+(worldwide|globally|group-wide|company-wide|everywhere else)\s+by\s+(20\d\d)\b",
                 rest, re.I)
    if m:
        out.append((m.group(1).strip(), int(m.group(2))))  # 'in Europe by 2040 and worldwide by 2050'
    m = re.match(r"^,?\s+and\s+((?:(?:in|across|for)\s+)?(?:its|their|the)\s+[\w\s&-]{2,50}?)\s+by\s+(20\d\d)\b",
                 rest, re.I)
    if m and not re.match(r"(?:the\s+)?(?:same|end)\b", m.group(1), re.I):
        scope = m.group(1).strip()
        if not re.match(r"(?:in|across|for)\s", scope, re.I):
            scope = "across " + scope  # 'and its whole value chain by 2050'
        out.append((scope, int(m.group(2))))
    return out


def _year_end(text: str, pledge: _Pledge, year: int) -> int:
    idx = text.find(str(year), pledge.end)
    return idx + 4 if idx >= 0 else pledge.end


def targets_in_sentence(inp: SentenceInput, last_year: int | None = None) -> list[Target]:
    """The pledges stated in one sentence (``last_year``: the previous pledge's year, for 'the same year')."""
    sent: Span = inp.span
    text = sent.text
    out: list[Target] = []
    evidence = sentence_evidence(inp, 0.75)
    for pledge in _pledges(text):
        if _is_product(text, pledge) or _before(text, pledge, _patterns()["achievement_before"], 30) \
                or _before(text, pledge, _patterns().get("negated_before", []), 30):
            continue  # achieved, a product's label, or 'has not set a net-zero target'
        national = re.search(_patterns().get("national_before", "$^"), text[max(0, pledge.start - 60):pledge.start],
                             re.I)
        year = _bound_year(text, pledge, inp.published, last_year)
        if year is None or not 2000 <= year <= 2100:
            continue
        company = None if national else _company(inp, pledge)  # 'the national goal of net zero by 2050'
        wording = _wording(text, pledge)
        out.append(Target(company=company, goal=wording, year=year, evidence=evidence))
        last_year = year
        base = re.split(r"\s+(?:in|across|for|from|at)\s+", wording)[0]
        for scope, extra_year in _continuations(text, pledge, _year_end(text, pledge, year)):
            out.append(Target(company=company, goal=f"{base} {scope}", year=extra_year, evidence=evidence))
    return out


def _company(inp: SentenceInput, pledge: _Pledge) -> str | None:
    span = inp.span.char_span(pledge.start, pledge.end, alignment_mode="expand")
    token = span.root if span is not None else inp.span.root
    return resolve_company(inp, token)


_SCOPE_WORDS = ("financed", "supply chain", "value chain", "operations", "products", "scope 3", "upstream",
                "permian", "sites", "manufacturing")


def _scope_of(goal: str) -> str:
    low = goal.lower()
    return next((w for w in _SCOPE_WORDS if w in low), "")


def merge_targets(title: list[Target], body: list[Target]) -> list[Target]:
    """Drop repeats: title pledges the body states again, and body pledges with the same company,
    kind and year unless both name different scopes ('own operations' vs 'financed emissions')."""
    kept: list[Target] = []
    for t in body:
        if any(_same(t, k, strict_scope=True) for k in kept):
            continue
        kept.append(t)
    extra = [t for t in title if not any(_same(t, k, strict_scope=False) for k in kept)]
    deduped: list[Target] = []
    for t in extra:
        if not any(_same(t, k, strict_scope=False) for k in deduped):
            deduped.append(t)
    return deduped + kept


def _same(a: Target, b: Target, strict_scope: bool) -> bool:
    if (a.company or "").lower() != (b.company or "").lower() or a.year != b.year:
        return False
    if goal_kind(a.goal) != goal_kind(b.goal):
        return False
    if not strict_scope:
        return True
    sa, sb = _scope_of(a.goal), _scope_of(b.goal)
    return not sa or not sb or sa == sb


def find_targets(ctx: Any) -> list[Target]:
    """Climate pledges in a document context (see ``monitor.extract.context``), title ones first."""
    title: list[Target] = []
    body: list[Target] = []
    last_year: int | None = None
    for inp in sentence_inputs(ctx, unparsed=may_hold_target):
        found = targets_in_sentence(inp, last_year)
        if found and not inp.is_title:
            last_year = found[-1].year
        (title if inp.is_title else body).extend(found)
    return merge_targets(title, body)
