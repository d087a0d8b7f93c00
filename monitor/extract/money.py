"""A small grammar for money amounts in news text.

Handles currency symbols and ISO 4217 codes before the number ('$', 'US$', '€', '£', '¥', '₹',
'Rs', 'CHF', 'USD'), currency words after it ('yen', 'yuan', 'won', 'Swiss francs', 'crore
rupees', 'EUR'), scale words and abbreviations (k, m, mn, bn, b, tn, thousand ... trillion, crore,
lakh, lakh crore), numbers with thousands separators or in words ('two billion euros'), ranges
('$2.5-2.7 billion', '$10bn to $15bn', 'between $10bn and $15bn': the lower bound is the amount)
and two-currency forms ('£3bn ($4.1bn)': the second, equivalent amount is dropped).

The surface forms live in ``models/money.json`` and the currency codes in ``models/iso4217.json``:
a three-letter code is money only when ISO 4217 lists it. Pure functions, no I/O after import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"

__all__ = ["Money", "find_money", "parse_money", "iso_currencies"]


@dataclass(frozen=True, slots=True)
class Money:
    """One amount of money found in a text: character offsets, amount in currency units, ISO code."""

    start: int
    end: int
    amount: float
    currency: str
    surface: str
    upper: float | None = None  # the upper bound of a range ('$10-15bn' -> 15e9)


@lru_cache(maxsize=1)
def iso_currencies() -> dict[str, dict[str, object]]:
    """The ISO 4217 list shipped in models/iso4217.json, by code."""
    data = json.loads((MODELS / "iso4217.json").read_text(encoding="utf-8"))
    return {row["code"]: row for row in data["currencies"]}


@lru_cache(maxsize=1)
def _forms() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((MODELS / "money.json").read_text(encoding="utf-8"))
    return data


def _alternation(keys: list[str]) -> str:
    """Regex alternation of literal keys, longest first, spaces matching any whitespace."""
    return "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keys, key=len, reverse=True))


# Multiplier words are case-insensitive; letter abbreviations are not ('B' and 'b' both mean billion,
# but 'M' vs 'm' are the same scale too, so both spellings are listed in the data).
_WORDY = re.compile(r"^[a-z][a-z ]{2,}$")
_AMBIGUOUS_SUFFIX = {"won", "rand", "pounds", "sterling", "lira", "francs", "dollar", "euro", "rupee"}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"


@dataclass(frozen=True, slots=True)
class _Grammar:
    money: tuple[re.Pattern[str], ...]  # prefixed and suffixed forms, ranges allowed
    single: tuple[re.Pattern[str], ...]  # the same without ranges
    prefix: dict[str, str]
    suffix: dict[str, str]
    multipliers: dict[str, float]
    words: dict[str, float]


@lru_cache(maxsize=1)
def _grammar() -> _Grammar:
    forms = _forms()
    prefix = {str(k): str(v) for k, v in forms["prefix"].items()}
    suffix = {str(k): str(v) for k, v in forms["suffix"].items()}
    mults = {str(k): float(v) for k, v in forms["multipliers"].items()}  # type: ignore[arg-type]
    words = {str(k): float(v) for k, v in forms["number_words"].items()}  # type: ignore[arg-type]
    word_mults = [k for k in mults if _WORDY.match(k)]
    short_mults = [k for k in mults if k not in word_mults and len(k) > 1]
    letter_mults = [k for k in mults if len(k) == 1]
    mult = (rf"(?:(?:\s*|-)(?i:{_alternation(word_mults)})|\s?(?:{_alternation(short_mults)})"
            rf"|(?:{_alternation(letter_mults)}))(?![A-Za-z0-9])")
    cur_p = rf"(?<![A-Za-z0-9])(?:{_alternation(list(prefix))}|[A-Z]{{3}}(?=\s?\d))"
    cur_s = rf"(?:(?i:{_alternation(list(suffix))})|[A-Z]{{3}})(?![A-Za-z])"
    num = rf"(?:{_NUM}|(?i:{_alternation(list(words))})(?=\s))"
    lo = rf"(?P<lo>{num})(?P<lomult>{mult})?"
    hi = rf"(?P<hi>{_NUM})(?P<himult>{mult})?"
    rng = rf"(?:\s?(?P<conn>-|–|—|\bto\b|\band\b)\s?(?P<hicur>{cur_p})?\s?{hi})"
    prefixed = rf"(?P<pcur>{cur_p})\s?{lo}{rng}?"
    suffixed = rf"{lo}{rng}?\s*(?P<scur>{cur_s})"
    between = r"(?P<btw>\b(?i:between)\s+)?"
    bare = r"(?<![\w.,$€£¥₹])"
    money = (re.compile(rf"{between}{prefixed}"), re.compile(rf"{between}{bare}{suffixed}"))
    single = (re.compile(rf"(?P<pcur>{cur_p})\s?{lo}"), re.compile(rf"{bare}{lo}\s*(?P<scur>{cur_s})"))
    return _Grammar(money, single, prefix, suffix, mults, words)


def _number(text: str, words: dict[str, float]) -> Decimal | None:
    key = re.sub(r"\s+", " ", text.strip().lower())
    if key in words:
        return Decimal(str(words[key]))
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _scale(mult: str | None, g: _Grammar) -> Decimal:
    if not mult:
        return Decimal(1)
    key = re.sub(r"\s+", " ", mult.strip().lstrip("-"))
    value = g.multipliers.get(key) or g.multipliers.get(key.lower())
    return Decimal(str(value)) if value else Decimal(1)


def _currency(code_or_form: str, table: dict[str, str]) -> str | None:
    """ISO code for a symbol, word or three-letter code; None when the code is not ISO 4217."""
    form = re.sub(r"\s+", " ", code_or_form.strip())
    if form in table:
        return table[form]
    lowered = {k.lower(): v for k, v in table.items()}
    if form.lower() in lowered:
        return lowered[form.lower()]
    if re.fullmatch(r"[A-Z]{3}", form) and form in iso_currencies():
        return form
    return None


def _build(m: re.Match[str], g: _Grammar, text: str) -> Money | None:
    """Money from one regex match, or None when the match breaks a rule of the grammar."""
    groups = m.groupdict()
    if groups.get("pcur"):
        currency = _currency(groups["pcur"], g.prefix)
    else:
        currency = _currency(groups["scur"], g.suffix)
        if not groups.get("lomult") and not groups.get("himult") and \
                groups["scur"].lower() in _AMBIGUOUS_SUFFIX:
            return None
    if currency is None:
        return None
    lo = _number(groups["lo"], g.words)
    if lo is None:
        return None
    is_word = not groups["lo"][0].isdigit() and groups["lo"][0] != "."
    lomult, himult = groups.get("lomult"), groups.get("himult")
    if is_word and not (lomult or himult):
        return None
    upper = None
    if groups.get("hi"):
        hi = _number(groups["hi"], g.words)
        if hi is None:
            return None
        upper = float(hi * _scale(himult or lomult, g))
        lomult = lomult or himult
    amount = float(lo * _scale(lomult, g))
    start = m.start("btw") if groups.get("btw") else m.start()
    return Money(start, m.end(), amount, currency, text[start:m.end()], upper)


def _range_ok(m: re.Match[str], text: str) -> bool:
    """'and' joins a range only after 'between'; 'from X to Y' is a change, not a range."""
    conn = m.groupdict().get("conn")
    if not conn:
        return True
    if conn == "and":
        return bool(m.group("btw"))
    if conn == "to":
        return not re.search(r"\bfrom\s*$", text[max(0, m.start() - 12):m.start()], re.I)
    return True


_EQUIVALENT = re.compile(
    r"\s*(?:\(|,\s*or\b|\bor\b)\s*(?:(?:about|around|roughly|approximately|approx\.|some|nearly|almost|"
    r"just\s+over|just\s+under|more\s+than|over|c\.|~|equivalent\s+to|worth)\s*)*$", re.I)


def _is_equivalent(prev: Money, cur: Money, text: str) -> bool:
    """A second amount restating the first in another currency: '£3bn ($4.1bn)'."""
    return prev.currency != cur.currency and bool(_EQUIVALENT.fullmatch(text[prev.end:cur.start]))


def _first(patterns: tuple[re.Pattern[str], ...], text: str, pos: int,
           anchored: bool = False) -> re.Match[str] | None:
    """The leftmost (then longest) match of any pattern from ``pos``."""
    found = [m for p in patterns if (m := (p.match(text, pos) if anchored else p.search(text, pos)))]
    return min(found, key=lambda m: (m.start(), -m.end()), default=None)


def find_money(text: str) -> list[Money]:
    """Every money amount in ``text``, in order, with character offsets.

    Two-currency forms keep the first amount; ranges give their lower bound as ``amount``.
    """
    g = _grammar()
    found: list[Money] = []
    pos = 0
    while pos <= len(text):
        m = _first(g.money, text, pos)
        if m is None:
            break
        money = _build(m, g, text) if _range_ok(m, text) else None
        if money is None and m.group("conn"):
            at = m.start("pcur") if m.groupdict().get("pcur") else m.start("lo")
            single = _first(g.single, text, at, anchored=True)
            money = _build(single, g, text) if single else None
        if money is None:
            pos = m.start() + 1
            continue
        if not (found and _is_equivalent(found[-1], money, text)):
            found.append(money)
        pos = money.end
    return found


def parse_money(s: str) -> Money | None:
    """The money amount that ``s`` consists of (surrounding spaces allowed), else None."""
    stripped = s.strip()
    found = find_money(stripped)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(stripped):
        return found[0]
    return None
