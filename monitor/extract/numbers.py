"""Quantities for emission changes: percents, multiplier words and tonnes of CO2e.

``find_quantities(text)`` returns :class:`Quantity` records with character offsets into ``text``:

* percents: '13%', '13 %', '13 percent', '13 per cent', '13pc', '13 pct', 'five percent',
  'twenty-two per cent', '4.5%'; ranges take the lower bound ('5-7%', '5% to 7%', 'between 5 and
  7 per cent'); 'percentage point(s)' are kind ``"pp"`` (not a relative change);
* multiplier words: doubled (+100, increase), tripled (+200), quadrupled (+300), halved (-50,
  decrease), 'more than doubled' (the stated floor, +100), 'cut by half' (50), 'by a third'
  (33.3), 'by a quarter' (25); kind ``"mult"`` with a direction;
* tonnes: '14.3 million tonnes' -> 14300000, '14.3 Mt', '2 MtCO2e', '500,000 metric tons',
  '1.2 billion tonnes', '3 Gt', 'kt'; unit ``"tCO2e"``.

Pure functions; no spaCy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Quantity", "find_quantities", "find_percents", "find_multipliers", "find_tonnes", "parse_number"]

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALE = {"thousand": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9,
          "trillion": 1e12, "tn": 1e12}

_WORDNUM = (r"(?:(?:{})(?:[- ](?:{}))?|{}|a hundred|one hundred)".format(
    "|".join(_TENS), "|".join(k for k in _UNITS if k != "zero"), "|".join(_UNITS)))
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_NUM = rf"(?:{_DIGITS}|{_WORDNUM})"
_PCT_WORD = r"(?:%|\s?%|\s?(?:per\s?cent|percent|pct|pc)\b)"
_PP_WORD = r"\s?(?:percentage[- ]points?|pct[- ]?pts?|ppts?|pp)\b"

_RANGE_PCT = re.compile(
    rf"(?<![\w.])(?:(?P<btw>between\s+))?(?P<a>{_NUM})\s*{_PCT_WORD}?\s*(?P<sep>-|–|—|to|and)\s*(?P<b>{_NUM})"
    rf"(?P<u>{_PCT_WORD}|{_PP_WORD})",
    re.IGNORECASE)
_PCT = re.compile(rf"(?<![\w.])(?P<a>{_NUM})(?P<u>{_PCT_WORD}|{_PP_WORD})", re.IGNORECASE)

_MULT = re.compile(
    r"\b(?P<q>(?:more than|nearly|almost|roughly|about|close to|over|at least|more than)\s+)?"
    r"(?P<w>doubl(?:ed|ing|e|es)|tripl(?:ed|ing|e|es)|trebl(?:ed|ing|e|es)|quadrupl(?:ed|ing|e|es)|"
    r"halv(?:ed|ing|es)|halve)\b(?!-)"
    r"|\b(?:by|in)\s+(?:(?:nearly|almost|about|around|roughly|more than|over|close to|some)\s+)?"
    r"(?P<frac>half|a half|a third|one third|one-third|a quarter|one quarter|two[- ]thirds|"
    r"three[- ]quarters|a fifth|one fifth|one-fifth|two[- ]fifths|a tenth|one tenth|one-tenth)\b"
    r"(?!\s+(?:of\s+)?(?:a\s+|an\s+|one\s+)?(?:million|billion|thousand|tonnes?|tons?|percentage|points?|mt|gt)\b)"
    r"|\b(?:(?:nearly|almost|about|around|roughly|more\s+than|over|close\s+to|some)\s+)?"
    r"(?P<frac2>half|a\s+third|one\s+third|a\s+quarter|one\s+quarter|a\s+fifth|one\s+fifth|a\s+tenth|one\s+tenth)"
    r"(?=\s+(?:(?:lower|higher|less|more|smaller|bigger|greater)\s+than\s+(?:in\s+)?(?:(?:19|20)\d\d|a\s+year|"
    r"the\s+(?:previous|prior)\s+year|last\s+year)|(?:below|above)\s+(?:its\s+|their\s+|the\s+)?(?:19|20)\d\d))",
    re.IGNORECASE)
_MULT_VALUES = {"doubl": (100.0, "increase"), "tripl": (200.0, "increase"), "trebl": (200.0, "increase"),
                "quadrupl": (300.0, "increase"), "halv": (50.0, "decrease")}
_FRACTIONS = {"half": 50.0, "a half": 50.0, "a third": 100 / 3, "one third": 100 / 3, "one-third": 100 / 3,
              "a quarter": 25.0, "one quarter": 25.0, "two thirds": 200 / 3, "two-thirds": 200 / 3,
              "three quarters": 75.0, "three-quarters": 75.0, "a fifth": 20.0, "one fifth": 20.0,
              "one-fifth": 20.0, "two fifths": 40.0, "two-fifths": 40.0, "a tenth": 10.0, "one tenth": 10.0,
              "one-tenth": 10.0}

_TONNES = re.compile(
    rf"(?<![\w.])(?P<a>{_DIGITS}|{_WORDNUM})\s*(?P<s>million|billion|thousand|mn|bn|m|b)?\s*"
    r"(?P<u>(?:metric\s+)?(?:tonnes|tons|tonne|ton)\b(?:\s+of)?|MtCO2e?|MtCO₂e?|Mt\b|GtCO2e?|Gt\b|ktCO2e?|kt\b|tCO2e?|tCO₂e?)",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number found in a text: offsets, value, unit ('%', 'tCO2e'), kind, and (for multiplier
    words) the direction the word itself carries."""

    start: int
    end: int
    value: float
    unit: str  # '%' | 'tCO2e' | 'pp'
    kind: str  # 'pct' | 'pp' | 'mult' | 'tonnes'
    direction: str | None = None
    text: str = ""


def parse_number(s: str) -> float | None:
    """A number written with digits ('1,234.5') or words ('twenty-two', 'five'), else None."""
    t = s.strip().lower().replace(",", "")
    try:
        return float(t)
    except ValueError:
        pass
    if t in ("a hundred", "one hundred"):
        return 100.0
    parts = re.split(r"[- ]", t)
    total = 0.0
    for p in parts:
        if p in _TENS:
            total += _TENS[p]
        elif p in _UNITS:
            total += _UNITS[p]
        else:
            return None
    return total


def find_percents(text: str) -> list[Quantity]:
    """Percent changes and percentage points in ``text`` (ranges take their lower bound)."""
    out: list[Quantity] = []
    taken: list[tuple[int, int]] = []
    for m in _RANGE_PCT.finditer(text):
        a, b = parse_number(m.group("a")), parse_number(m.group("b"))
        if a is None or b is None or not (a < b) or _is_year(m.group("a")):
            continue
        if m.group("sep") == "and" and not m.group("btw"):
            continue  # '3% and 4%' are two numbers
        kind = "pp" if re.search("point|pt|pp", m.group("u"), re.I) else "pct"
        out.append(Quantity(m.start(), m.end(), a, "pp" if kind == "pp" else "%", kind, None, m.group()))
        taken.append((m.start(), m.end()))
    for m in _PCT.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        a = parse_number(m.group("a"))
        if a is None:
            continue
        kind = "pp" if re.search("point|pt|pp", m.group("u"), re.I) else "pct"
        out.append(Quantity(m.start(), m.end(), a, "pp" if kind == "pp" else "%", kind, None, m.group()))
    return sorted(out, key=lambda q: q.start)


def find_multipliers(text: str) -> list[Quantity]:
    """Multiplier words: doubled (+100%), tripled (+200%), halved (-50%), 'by a third' (33.3%)."""
    out = []
    for m in _MULT.finditer(text):
        if m.group("w"):
            word = m.group("w").lower()
            stem = next(k for k in _MULT_VALUES if word.startswith(k))
            value, direction = _MULT_VALUES[stem]
            out.append(Quantity(m.start("w"), m.end("w"), value, "%", "mult", direction, m.group()))
        else:
            g = "frac" if m.group("frac") else "frac2"
            frac = re.sub(r"\s+", " ", m.group(g).lower())
            out.append(Quantity(m.start(g), m.end(g), _FRACTIONS[frac], "%", "frac", None, m.group()))
    return out


def find_tonnes(text: str) -> list[Quantity]:
    """Absolute amounts of tonnes (of CO2e), in tonnes: '14.3 million tonnes' -> 14300000."""
    out = []
    for m in _TONNES.finditer(text):
        a = parse_number(m.group("a"))
        if a is None or _is_year(m.group("a")):
            continue
        unit = m.group("u").lower()
        scale = _SCALE.get((m.group("s") or "").lower(), 1.0)
        if unit.startswith("mt"):
            scale = 1e6
        elif unit.startswith("gt"):
            scale = 1e9
        elif unit.startswith("kt"):
            scale = 1e3
        out.append(Quantity(m.start(), m.end(), a * scale, "tCO2e", "tonnes", None, m.group()))
    return out


def find_quantities(text: str) -> list[Quantity]:
    """Percents, percentage points, multiplier words and tonnes in ``text``, in order."""
    qs = find_percents(text) + find_multipliers(text) + find_tonnes(text)
    return sorted(qs, key=lambda q: (q.start, -q.end))


def _is_year(s: str) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d\d", s.strip()))
