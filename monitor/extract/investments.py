"""Investments: money a company commits, plans, or has spent to invest.

For every money amount (``money.find_money``) in a sentence, an investment needs a cue that governs
the amount within its clause — an investing verb ('invest', 'spend', 'earmark'), an investment noun
('capital expenditure', 'investment'), or a project noun the amount modifies ('a $10bn data
centre', 'a $2bn fund') — and no exclusion word between the cue and the amount or just after it
(revenue, profit, financing, loans, grants, subsidies, buybacks, dividends, contracts, fines, ...).
The investor is the subject of the cue (a company mention, 'it'/'the company' -> the article's
subject; a government or other non-company -> null). Status is ``spent`` for past spending
('spent', 'capex came to'), else ``announced``. ``by_year`` comes from the horizon nearest the
amount ('by 2025', 'through 2027', 'over the next N years' = published year + N, 'this year',
'this fiscal year'). The word lists are data in ``models/investment_cues.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from spacy.tokens import Span, Token

from monitor.extract.context import ANAPHOR_NOUNS, fits_sector, in_descriptor
from monitor.extract.money import Money, find_money
from monitor.types import Evidence, Investment

MODELS = Path(__file__).resolve().parents[2] / "models"

__all__ = ["find_investments", "investments_in_sentence", "SentenceInput", "horizon_year", "fiscal_year_end",
           "inputs_from_doc", "may_hold_investment", "merge_title", "resolve_company"]

CompanyOf = Callable[[int, int], "str | None"]

_MODIFIERS = {"about", "around", "roughly", "approximately", "some", "nearly", "almost", "over", "more", "than",
              "up", "to", "at", "least", "a", "an", "further", "additional", "extra", "another", "of", "as", "much",
              "just", "under", "below", "above", "between", "the", "its", "total", "estimated", "$", "us$"}
# Exclusions that count only before the amount ('paid $X' is not an investment; '$X ... market' may be).
_BEFORE_ONLY = {"pay", "pays", "paid", "hold", "holds", "holding", "received", "secured", "attracted", "market",
                "worth", "price", "priced", "charge", "charges", "cut", "cuts", "reduce", "reduced", "values",
                "valued", "raise", "raises", "raised", "lose", "lost", "losing", "tax", "fine", "acquire", "acquired",
                "acquisition"}
_PRONOUNS = {"it", "its", "they", "their", "we", "our", "he", "she", "that", "which", "who"}
_GENERIC_HEADS = {"company", "group", "firm", "business", "maker", "giant", "carmaker", "chipmaker", "retailer",
                  "operator", "conglomerate", "producer", "major", "unit", "arm", "division", "subsidiary",
                  "carrier", "airline", "bank", "lender", "insurer", "miner", "steelmaker", "automaker", "provider",
                  "grocer", "supermarket", "manufacturer", "developer", "platform", "parent", "owner", "brand"} \
    | (ANAPHOR_NOUNS - {"network", "line", "chain", "platform", "brand", "tech", "shipping", "logistics"})
_NATIONAL = {"foreign", "national", "federal", "public", "global", "domestic", "inward", "outward", "state", "eu",
             "government", "governments", "combined", "collective", "aggregate", "industry", "sector"}
_PERSONS = {"he", "she"}
_SPOKESPEOPLE = {"executives", "executive", "management", "managers", "spokesperson", "spokesman", "spokeswoman",
                 "ceo", "chairman", "chairwoman", "board", "directors", "president", "founder"}
_CUE_SUBJECTS = {"expenditure", "expenditures", "capex", "spending", "investment", "investments", "budget",
                 "outlay", "outlays", "spend"}
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "a": 1}
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")


@lru_cache(maxsize=1)
def _cues() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MODELS / "investment_cues.json").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def _phrases() -> dict[str, list[tuple[str, ...]]]:
    cues = _cues()
    return {k: [tuple(p.lower().split()) for p in v] for k, v in cues.items() if isinstance(v, list)}


@dataclass(frozen=True, slots=True)
class SentenceInput:
    """One sentence with what investment finding needs from the document context.

    ``span`` is the spaCy sentence; ``offset`` maps its character offsets into the evidence text
    (``span.start_char + offset``). ``company_of(start, end)`` names the company a character range
    of the document refers to ('AWS' -> 'Amazon', 'the company' -> the subject), else None.
    """

    span: Span
    offset: int = 0
    published: date | None = None
    subject: str | None = None
    company_of: CompanyOf | None = None
    fiscal_end: int | None = None
    is_title: bool = False
    mentions: Sequence[tuple[int, int, str]] = field(default_factory=tuple)
    subject_sector: str | None = None


@dataclass(slots=True)
class _Candidate:
    money: Money
    first: int  # token indices of the money in the sentence
    last: int
    cue: int | None = None
    cue_kind: str = ""
    excluded: bool = False


# --- token helpers -----------------------------------------------------------------------------------

def _low(tok: Token) -> str:
    return tok.text.lower()


def _match_at(tokens: Sequence[Token], i: int, phrase: tuple[str, ...], lemma: bool = True) -> bool:
    if i + len(phrase) > len(tokens):
        return False
    for k, word in enumerate(phrase):
        tok = tokens[i + k]
        if _low(tok) != word and not (lemma and tok.lemma_.lower() == word):
            return False
    return True


def _phrase_hits(tokens: Sequence[Token], lo: int, hi: int, key: str, lemma: bool = True) -> list[tuple[int, int]]:
    """(start, end) token index pairs in [lo, hi) where a phrase of list ``key`` occurs."""
    hits = []
    for i in range(max(lo, 0), min(hi, len(tokens))):
        for phrase in _phrases()[key]:
            if _match_at(tokens, i, phrase, lemma) and i + len(phrase) <= hi:
                hits.append((i, i + len(phrase)))
    return hits


_CLAUSE_VERBS = {"said", "says", "added", "adds", "aims", "aimed", "plans", "planned", "expects", "expected",
                 "wants", "intends", "announced", "reported", "told", "noted", "kept", "restated", "reiterated"}


def _starts_clause(toks: list[Token], k: int, after_comma: bool) -> bool:
    """Whether the 'and' at ``k`` opens a new clause ('and said', ', and executives expected')."""
    nxt = toks[k + 1]
    if _low(nxt) in _CLAUSE_VERBS:
        return True
    return after_comma and (nxt.pos_ in {"VERB", "AUX"} or any(t.dep_ in {"nsubj", "nsubjpass"}
                                                               for t in toks[k + 1:k + 4]))


def _clause_bounds(sent: Span, i: int) -> tuple[int, int]:
    """Token range (relative to the sentence) of the clause around token ``i``: clauses end at ';',
    ', while/whereas/although/but', and 'and' that starts a new clause (', and executives said',
    'and said')."""
    toks = list(sent)
    cuts = [0]
    for k, tok in enumerate(toks):
        low = _low(tok)
        prev = _low(toks[k - 1]) if k else ""
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if low == ";" or (low in {"while", "whereas", "although", "but"} and prev == ",") or (
                low == "and" and nxt is not None and _starts_clause(toks, k, prev == ",")):
            cuts.append(k)
    cuts.append(len(toks))
    lo = max(c for c in cuts if c <= i)
    hi = min(c for c in cuts if c > i)
    return lo, hi


# --- cues and exclusions --------------------------------------------------------------------------------

def _skip_modifiers_left(tokens: Sequence[Token], i: int) -> int:
    """Index of the first token left of ``i`` that is not an amount modifier ('about', 'up to')."""
    k = i - 1
    while k >= 0 and _low(tokens[k]) in _MODIFIERS:
        k -= 1
    return k


def _object_noun_after(tokens: Sequence[Token], last: int, hi: int) -> int | None:
    """A project noun the amount modifies: '$10bn [AI] data centre', '$2bn venture fund'."""
    for start, _end in _phrase_hits(tokens, last + 1, min(hi, last + 7), "object_nouns", lemma=False):
        between = tokens[last + 1:start]
        if all(t.pos_ in {"ADJ", "NOUN", "PROPN", "NUM", "PUNCT", "ADV"} and _low(t) not in {",", "("}
               for t in between):
            return start
    return None


def _not_investment_spending(tokens: Sequence[Token], start: int, end: int) -> bool:
    """'ad spending', 'consumer spending', 'government budget': spending that is not investing."""
    words = set(_cues()["not_investment_spending"])
    before = [_low(t) for t in tokens[max(0, start - 2):start]]
    compounds = [_low(c) for t in tokens[start:end] for c in t.children if c.dep_ in {"compound", "amod", "poss"}]
    return any(w.strip("-") in words for w in before + compounds)


def _find_cue(tokens: Sequence[Token], cand: _Candidate, lo: int, hi: int) -> None:
    """Set the candidate's governing cue (index and kind), nearest to the amount."""
    first, last = cand.first, cand.last
    left = max(lo, first - 16)
    options: list[tuple[int, int, str]] = []  # (distance, index, kind)
    needs_into = set(_cues()["verbs_needing_into"])
    for start, _end in _phrase_hits(tokens, left, first, "verbs"):
        if tokens[start].pos_ in {"NOUN", "PROPN"} and _skip_modifiers_left(tokens, first) != start:
            continue  # 'marketing spend' is a noun; 'BASF earmarks €4bn' (a headline verb) is not
        if tokens[start].lemma_.lower() in needs_into and not any(
                _low(t) in {"into", "in"} for t in tokens[last + 1:min(hi, last + 3)]):
            continue
        options.append((first - start, start, "verb"))
    for start, end in _phrase_hits(tokens, left, first, "nouns"):
        if tokens[start].pos_ == "PROPN" or _not_investment_spending(tokens, start, end):
            continue
        options.append((first - start, start, "noun"))
    for start, _end in _phrase_hits(tokens, left, first, "cost_phrases", lemma=False):
        options.append((first - start, start, "cost"))
    noun = _object_noun_after(tokens, last, hi)
    if noun is not None:
        options.append((noun - last, noun, "object"))
    for start, _end in _phrase_hits(tokens, last + 1, min(hi, last + 9), "after_phrases", lemma=False):
        options.append((start - last, start, "after"))
    prev = _skip_modifiers_left(tokens, first)
    if prev >= 0 and _low(tokens[prev]) == "for":
        stake = next((k for k in range(max(lo, first - 8), prev) if _low(tokens[k]) == "stake"), None)
        if stake is not None:
            options.append((first - stake, stake, "noun"))
        buy = _acquisition_before(tokens, max(lo, first - 10), prev)
        if buy is not None and tokens[buy].tag_ not in {"VBD", "VBN"}:
            # an acquisition agreed or planned ('agreed to buy', 'will acquire'); a past purchase
            # ('bought Whole Foods in 2017 for $13.7bn') is background, not news of an investment
            options.append((first - buy, buy, "verb"))
    for k in range(last + 1, min(hi, last + 6)):
        if _low(tokens[k]) == "stake" and any(_low(t) == "for" for t in tokens[last + 1:k]):
            options.append((k - last, k, "after"))
            break
    if last + 1 < hi and _low(tokens[last + 1]) in {"in", "of"}:
        for k in range(last + 2, min(hi, last + 9)):
            if tokens[k].lemma_.lower() == "investment" or _low(tokens[k]) in {"investments", "capex"}:
                options.append((k - last, k, "after"))
                break
            if tokens[k].pos_ in {"VERB", "PUNCT"}:
                break
    if not options:
        return
    _dist, idx, kind = min(options)
    cand.cue, cand.cue_kind = idx, kind


_ACQUIRE_LEMMAS = {"buy", "acquire", "purchase"}
_NOT_ACQUIRED = {"share", "shares", "stock", "stocks", "back", "power", "electricity", "offset", "offsets", "credit",
                 "credits", "gas", "oil", "fuel", "allowance", "allowances", "bond", "bonds", "debt", "ticket",
                 "tickets"}


def _acquisition_before(tokens: Sequence[Token], lo: int, hi: int) -> int | None:
    """'agreed to buy Covestro for €14.7bn', 'bought a US solar developer for $6.8bn', 'the takeover of X
    for ...': the verb or noun of an acquisition before 'for', unless what is bought is shares, power,
    offsets or a commodity (buybacks and purchases are not investments)."""
    for k in range(hi - 1, lo - 1, -1):
        t = tokens[k]
        if (t.pos_ == "VERB" and t.lemma_.lower() in _ACQUIRE_LEMMAS) or _low(t) in {"takeover", "acquisition"}:
            obj = [_low(x) for x in tokens[k + 1:hi]]
            if any(w in _NOT_ACQUIRED for w in obj):
                return None
            return k
    return None


def _acquired(tokens: Sequence[Token], cand: _Candidate) -> str | None:
    """'acquisition of Covestro' for an acquisition cue whose object is named."""
    if cand.cue is None or tokens[cand.cue].lemma_.lower() not in _ACQUIRE_LEMMAS:
        return None
    obj = next((c for c in tokens[cand.cue].children if c.dep_ == "dobj"), None)
    if obj is None:
        return None
    words = [t for t in obj.subtree if t.i < tokens[cand.first].i and not (t.dep_ == "prep" and _low(t) == "for")]
    words = [t for t in words if t.pos_ != "DET" or t.i != words[0].i]
    text = _tidy(" ".join(t.text for t in words[:8]))
    return f"acquisition of {text}" if text else None


def _excluded(tokens: Sequence[Token], cand: _Candidate, hi: int) -> bool:
    """An exclusion word between the cue and the amount, or just after the amount; 'by $X' changes."""
    first, last = cand.first, cand.last
    prev = _skip_modifiers_left(tokens, first)
    if prev >= 0 and (_low(tokens[prev]) in {"by", "from"} or _low(tokens[prev]) in set(_cues()["recipient_verbs"])):
        return True
    if cand.cue is not None and cand.cue_kind == "noun":
        head = tokens[cand.cue].head
        if head.pos_ in {"VERB", "AUX"} and head.lemma_.lower() in set(_cues()["holding_verbs"]):
            return True
    before = " ".join(_low(t) for t in tokens[max(0, first - 10):first])
    if re.search(r"\b(?:buy(?:ing)? back|bought back|buybacks?|repurchas\w*)\b", before):
        return True  # 'keep buying back shares under its $10 billion programme'
    gov = tokens[last]
    for _ in range(4):
        if gov.head is gov:
            break
        gov = gov.head
        if gov.pos_ in {"VERB", "AUX"}:
            if gov.lemma_.lower() in {"oversee", "manage", "administer", "hold", "own"}:
                return True  # 'now oversees more than $70 billion in sustainable strategies': assets, not investing
            break
    cost = next((t for t in tokens[cand.cue:cand.cue + 4] if _low(t) in {"cost", "costs", "costing"}), None) \
        if cand.cue is not None and cand.cue_kind == "cost" else None
    if cost is not None:
        subj = _subject_of(cost)
        if subj is not None and _low(subj) in {"that", "which"} and subj.head.dep_ == "relcl":
            subj = subj.head.head
        if subj is not None and (_low(subj) in set(_cues()["exclusions"])
                                 or subj.lemma_.lower() in set(_cues()["exclusions"])):
            return True  # 'a restructuring that will cost ¥140 billion'
    if cand.cue is not None and cand.cue < first:
        for start, end in _phrase_hits(tokens, cand.cue, first, "exclusions"):
            if not (start <= cand.cue < end) and start > cand.cue:
                return True
    after_hi = min(hi, last + 5)
    if cand.cue is not None and cand.cue > last:
        after_hi = min(after_hi, cand.cue)
    for start, end in _phrase_hits(tokens, last + 1, after_hi, "exclusions"):
        words = " ".join(_low(t) for t in tokens[start:end])
        if words not in _BEFORE_ONLY:
            return True
    return False


# --- investor -------------------------------------------------------------------------------------------

def _subject_of(tok: Token) -> Token | None:
    """The grammatical subject governing ``tok``, climbing xcomp/conj/relcl chains."""
    seen = 0
    node: Token | None = tok
    while node is not None and seen < 8:
        seen += 1
        subj = next((c for c in node.children if c.dep_ in {"nsubj", "nsubjpass", "expl"}), None)
        if subj is None and node.pos_ in {"NOUN", "PROPN"} and node is not tok:
            subj = next((c for c in node.children if c.dep_ == "poss"), None)
        if subj is not None:
            if _low(subj) in {"that", "which", "who"} and node.dep_ == "relcl":
                return _named_antecedent(node.head)
            return subj
        if node.dep_ == "xcomp" and node.head is not node:
            obj = next((c for c in node.head.children if c.dep_ == "dobj" and c.i < node.i), None)
            if obj is not None:
                return obj
        if node.dep_ in {"xcomp", "conj", "advcl", "ccomp", "acl", "dobj", "pobj", "prep", "attr", "nmod",
                         "compound", "amod", "nummod", "quantmod", "appos", "npadvmod", "acomp",
                         "oprd"} and node.head is not node:
            node = node.head
            continue
        if node.dep_ == "relcl":
            return _named_antecedent(node.head)
        return None
    return None


def _named_antecedent(noun: Token) -> Token:
    """'a joint venture called Stargate' -> Stargate; otherwise the noun itself."""
    for child in noun.children:
        if child.dep_ == "acl" and child.lemma_ in {"call", "name", "know"}:
            named = next((c for c in child.subtree if c.pos_ == "PROPN"), None)
            if named is not None:
                return named
    return noun


def _mention_at(inp: SentenceInput, start: int, end: int) -> str | None:
    for m_start, m_end, name in inp.mentions:
        if m_start < end and start < m_end:
            return name
    return None


def _company_for_token(inp: SentenceInput, tok: Token, depth: int = 0) -> tuple[bool, str | None]:
    """(decided, company) for a subject token: a mention, a pronoun/description, or a non-company."""
    off = inp.offset
    low = _low(tok)
    compounds = [c for c in tok.lefts if c.dep_ in {"compound", "amod"} and c.pos_ == "PROPN"]
    first = min([tok, *compounds], key=lambda t: t.i)
    name = _mention_at(inp, tok.idx + off, tok.idx + len(tok.text) + off) or (
        _mention_at(inp, first.idx + off, tok.idx + len(tok.text) + off) if compounds else None)
    if name is not None:
        return True, name
    for c in tok.children:  # 'Its alliance partner Nissan said ...': the named apposition
        if c.dep_ in {"appos", "compound"} and c.pos_ == "PROPN":
            named = _mention_at(inp, c.idx + off, c.idx + len(c.text) + off)
            if named is not None:
                return True, named
    if low in _PRONOUNS:  # before the context's resolver: 'Microsoft said it would' is Microsoft
        return True, _resolve_pronoun(inp, tok, depth)
    if inp.company_of is not None:
        name = inp.company_of(tok.idx + off, tok.idx + len(tok.text) + off)
    if name is not None:
        return True, name
    if low in _SPOKESPEOPLE:
        return True, _resolve_pronoun(inp, tok, depth)
    if low in _CUE_SUBJECTS or tok.lemma_.lower() in _CUE_SUBJECTS:
        if _national_or_group(tok):
            return True, None
        poss = next((c for c in tok.children if c.dep_ == "poss"), None)
        return _company_for_token(inp, poss, depth + 1) if poss is not None and depth < 3 else (False, None)
    if low in _GENERIC_HEADS and tok.tag_ != "NNS":
        if any(_low(c) in {"a", "an", "another", "rival", "other", "one"} for c in tok.children):
            return True, None  # 'a rival carmaker': some other, unnamed company
        owner = next((c for c in tok.children if c.dep_ == "poss"), None)
        if owner is not None and _low(owner) not in _PRONOUNS:
            decided, name = _company_for_token(inp, owner, depth + 1) if depth < 3 else (False, None)
            if decided and name is not None:
                return True, name
        if not fits_sector(low, inp.subject_sector):
            return True, None  # 'the utility' in an article about Meta is some other company
        return True, inp.subject
    if inp.subject and " ".join(t.text for t in [*compounds, tok]) == inp.subject:
        return True, inp.subject  # the article's company, whatever NER calls it ('Johnson Matthey' as a person)
    if tok.ent_type_ in {"GPE", "NORP", "LOC"} and in_descriptor(tok):
        return True, inp.subject  # 'The Charlotte, North Carolina-based utility ...'
    if tok.ent_type_ in {"GPE", "NORP", "LOC", "PERSON"}:
        return True, None
    if tok.pos_ == "PROPN" and tok.ent_type_ != "PERSON":
        name = _proper_name(tok)
        if name is not None:
            return True, name
    poss = next((c for c in tok.children if c.dep_ == "poss"), None)
    if poss is not None and depth < 3:
        return _company_for_token(inp, poss, depth + 1)
    if low in set(_cues()["government"]) or tok.lemma_.lower() in set(_cues()["government"]):
        return True, None
    if tok.tag_ == "NNS" and low not in _GENERIC_HEADS:
        return True, None  # 'businesses', 'other supermarkets': not one company
    return False, None


_NOT_COMPANY_TAIL = {"fund", "foundation", "trust", "programme", "program", "project", "initiative", "plan",
                     "act", "agreement", "strategy", "pledge"}


def _proper_name(tok: Token) -> str | None:
    """The proper-noun phrase around ``tok`` ('BlueOval SK'), unless it names a fund or programme."""
    ent = next((e for e in tok.doc.ents if e.start <= tok.i < e.end), None)
    if ent is not None and ent.label_ == "ORG":
        text = ent.text
    else:
        parts = [c for c in tok.lefts if c.dep_ == "compound" and c.pos_ == "PROPN"] + [tok]
        text = " ".join(t.text for t in sorted(parts, key=lambda t: t.i))
    if text.split()[-1].lower() in _NOT_COMPANY_TAIL:
        return None
    return _clean_org(text)


def _resolve_pronoun(inp: SentenceInput, tok: Token, depth: int) -> str | None:
    """'X said it would invest' -> X; 'the government said it will' -> None; else the nearest
    company named earlier in the sentence, else the article's subject."""
    verb = tok.head
    hops = 0
    while verb.dep_ in {"ccomp", "xcomp", "conj", "advcl", "relcl"} and verb.head is not verb and hops < 4:
        hops += 1
        verb = verb.head
        subjs = [c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}]
        # the small model may give two subjects ('Its alliance partner Nissan said'): a named one first
        subjs.sort(key=lambda c: _mention_at(inp, c.idx + inp.offset, c.idx + len(c.text) + inp.offset) is None)
        subj = subjs[0] if subjs else None
        if subj is not None and _low(subj) not in _PRONOUNS and subj.ent_type_ != "PERSON" and depth < 3:
            decided, name = _company_for_token(inp, subj, depth + 1)
            if decided:
                return name
    if _low(tok) in {"it", "its"} and inp.company_of is not None:
        # the document context resolves 'it' (the company acting before it, or the opener of the
        # previous sentence, else the subject)
        return inp.company_of(tok.idx + inp.offset, tok.idx + len(tok.text) + inp.offset)
    earlier = [m for m in inp.mentions if m[1] <= tok.idx + inp.offset
               and m[0] >= inp.span.start_char + inp.offset]
    if earlier:
        return earlier[-1][2]
    if _low(tok) in _PERSONS:
        return None  # 'He plowed $375 million into Helion': a person's own money, not the article's company
    return inp.subject


def _clean_org(text: str) -> str:
    text = re.sub(r"^(the)\s+", "", text.strip(), flags=re.I)
    return re.sub(r"\s+(LLC|Inc\.?|Corp\.?|Ltd\.?|plc|PLC|AG|SE|SA|NV|Co\.?)$", "", text).strip(" ,")


def resolve_company(inp: SentenceInput, token: Token) -> str | None:
    """The company acting in the clause of ``token``: its subject resolved to a company (a mention,
    'it' / 'the company' -> the article's subject, a government or other non-company -> None), else
    the nearest company named before it in the sentence, else the article's subject."""
    subj = _subject_of(token)
    if subj is not None:
        decided, name = _company_for_token(inp, subj)
        if decided:
            return name
    earlier = [m for m in inp.mentions if inp.span.start_char + inp.offset <= m[0] < token.idx + inp.offset]
    if earlier:
        return earlier[-1][2]
    return inp.subject


def _national_or_group(tok: Token) -> bool:
    """Whether a money noun belongs to a country or a group of companies: 'French foreign direct
    investment', 'US public spending', 'AI companies' infrastructure spending'."""
    kids = list(tok.children)
    if any(c.dep_ == "poss" and c.ent_type_ not in {"GPE", "NORP", "LOC"} and c.tag_ != "NNS" for c in kids):
        return False  # 'its US commitment', 'Apple's European investment'
    if tok.dep_ in {"nsubj", "nsubjpass"}:
        kids += [c for c in tok.head.children if c.dep_ in {"nsubj", "nsubjpass"} and c.i < tok.i]
    if any(c.dep_ in {"amod", "compound"} and (c.ent_type_ in {"NORP", "GPE"} or _low(c) in _NATIONAL)
           for c in kids):
        return True
    if any(c.dep_ in {"poss", "compound", "nsubj"} and c.tag_ == "NNS" and _low(c) not in _GENERIC_HEADS
           and c.ent_type_ != "ORG" for c in kids):
        return True
    # 'the capital expenditures of Amazon, Google and Meta': several owners together
    for prep in (c for c in tok.children if c.dep_ == "prep" and _low(c) == "of"):
        for obj in (c for c in prep.children if c.dep_ == "pobj"):
            if obj.pos_ == "PROPN" and any(c.dep_ == "conj" and c.pos_ == "PROPN" for c in obj.children):
                return True
    return False


def _investor(inp: SentenceInput, tokens: Sequence[Token], cand: _Candidate, lo: int) -> str | None:
    """The company investing: subject of the cue, else the nearest company before it, else the subject."""
    anchor = tokens[cand.cue] if cand.cue is not None else tokens[cand.last]
    head = anchor
    while head.dep_ in {"compound", "amod"} and head.head is not head:
        head = head.head  # 'capital expenditures': the phrase's head noun
    if (_low(anchor) in _CUE_SUBJECTS or cand.cue_kind == "noun") and _national_or_group(head):
        return None
    subj = _subject_of(anchor)
    if subj is None and cand.cue_kind in {"object", "after"}:
        subj = _subject_of(tokens[cand.last])
    if subj is not None:
        decided, name = _company_for_token(inp, subj)
        if decided:
            return name
    clause_start = tokens[lo].idx + inp.offset
    before = [m for m in inp.mentions if clause_start <= m[0] < anchor.idx + inp.offset]
    if before:
        return before[-1][2]
    earlier = [m for m in inp.mentions if m[0] < anchor.idx + inp.offset]
    if earlier:
        return earlier[0][2]
    return inp.subject


# --- status, horizon, purpose ---------------------------------------------------------------------------

def _status(tokens: Sequence[Token], cand: _Candidate, lo: int, hi: int, published: date | None = None) -> str:
    """'spent' for money already spent ('spent $X', 'capex came to $X'), else 'announced'."""
    if cand.cue is None:
        return "announced"
    cue_tok = tokens[cand.cue]
    future = set(_cues()["future_cues"])
    span_lo = min(cand.cue, cand.first)
    window = [_low(t) for t in tokens[max(lo, span_lo - 6):min(hi, cand.last + 3)]]
    if _low(cue_tok) in {"spent", "invested", "bought", "acquired", "purchased"} and cue_tok.tag_ in {"VBD", "VBN"}:
        aux_future = any(_low(c) in {"will", "would"} for c in cue_tok.children)
        return "announced" if aux_future else "spent"
    if _low(cue_tok) == "spending" and cand.cue > 0 and _low(tokens[cand.cue - 1]) == "after":
        return "spent"
    if cand.cue_kind != "noun" or any(w in future for w in window):
        return "announced"
    if cue_tok.lemma_.lower() in {"budget", "plan"} or any(_low(t) in {"budget", "plan", "planned"}
                                                           for t in tokens[max(lo, cand.cue - 2):cand.cue + 2]):
        return "announced"
    clause_years = [int(t.text) for t in tokens[lo:hi] if re.fullmatch(r"20\d\d", t.text)]
    if published is not None and any(y > published.year for y in clause_years):
        return "announced"
    cue_words = " ".join(_low(t) for t in tokens[max(lo, cand.cue - 1):cand.cue + 2])
    if not re.search(r"capex|capital|investment|expenditure", cue_words):
        return "announced"  # 'spending', 'commitment': reported only with an explicit past verb above
    between = " ".join(_low(t) for t in tokens[max(lo, span_lo - 4):cand.first])
    past = any(re.search(rf"\b{re.escape(p)}\b", between) for p in _cues()["spent_verbs"])
    past = past or any(t.tag_ in {"VBD", "VBN"} and t.dep_ != "amod" for t in tokens[cand.cue:cand.first])
    past = past or _governing_past(tokens[cand.cue])
    return "spent" if past else "announced"


def _governing_past(tok: Token) -> bool:
    """Whether a simple-past verb governs the cue noun ('results showed a rise in capex')."""
    node = tok
    for _ in range(4):
        if node.head is node:
            return False
        node = node.head
        if node.pos_ in {"VERB", "AUX"}:
            return node.tag_ == "VBD"
    return False


def fiscal_year_end(text: str, published: date | None) -> int | None:
    """The ending year of the 'current fiscal year' when the text states it ('which ends in May 2026')."""
    m = re.search(rf"fiscal year[^.]{{0,60}}?\bend(?:s|ing)?\s+(?:in\s+)?(?:(?:{_MONTHS})\w*\s+)?(?:\d{{1,2}},?\s+)?"
                  r"(20\d\d)", text, re.I)
    if m:
        year = int(m.group(1))
        if published is None or year >= published.year:
            return year
    return None


def _word_number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _WORD_NUMBERS.get(word.lower())


_HORIZON_PATTERNS: list[tuple[str, str]] = [
    (r"\bbetween\s+(?:fiscal\s+)?20\d\d\s+and\s+(?:fiscal\s+)?(?P<y>20\d\d)\b", "year"),
    (r"\bbetween\s+FY\s?'?(?:20)?\d\d\s+and\s+FY\s?'?(?P<y>(?:20)?\d\d)\b", "span"),
    (r"\b(?:by|through|until|till|to|in)\s+(?:the\s+end\s+of\s+)?FY\s?'?(?P<y>(?:20)?\d\d)\b", "span"),
    (r"\bfrom\s+20\d\d\s+(?:to|through|until|till)\s+(?P<y>20\d\d)\b", "year"),
    (rf"\b(?:by|through|until|till|to)\s+(?:the\s+end\s+of\s+)?(?:fiscal\s+(?:year\s+)?)?"
     rf"(?:(?:{_MONTHS})\w*\s+(?:\d{{1,2}},?\s+)?)?(?P<y>20\d\d)\b", "year"),
    (r"\b(?:over|in|within|during)\s+the\s+next\s+(?P<n>\w+)\s+years\b", "plus"),
    (r"\bover\s+(?:the\s+)?(?P<n>\w+)\s+years\b", "plus"),
    (r"\b(?P<n>\w+)\s+years\s+to\b", "plus"),
    (r"\bover\s+the\s+next\s+decade\b|\bover\s+(?:the\s+next\s+)?ten\s+years\b", "decade_next"),
    (r"\b(?:over|by\s+the\s+end\s+of)\s+the\s+decade\b", "decade_end"),
    (r"\b(?:this|the\s+current|its\s+current|the)\s+fiscal\s+year\b|\bcurrent\s+fiscal\s+year\b", "fiscal"),
    (r"\bnext\s+fiscal\s+year\b", "fiscal_next"),
    (r"\b(?:this|the\s+current)\s+(?:calendar\s+)?year\b|\bimmediately\b", "this"),
    (r"\bnext\s+year\b", "next"),
    (r"\blast\s+year\b", "last"),
    (r"\b(?:in|for|during)\s+(?:(?:the\s+)?(?:fiscal|financial)\s+(?:year\s+)?)?(?P<y>20\d\d)\b(?![-–/]\d)", "year"),
    (r"\b20\d\d\s?[-–/]\s?(?P<y>20\d\d|\d\d)\b", "span"),
    (r"\b(?:fourth|third|second|first|final|last)\s+quarter\s+of\s+(?P<y>20\d\d)\b", "year"),
    (r"\b(?P<y>20\d\d)\s+(?:capital|capex|investment|investments|spending|budget)\b", "year"),
    (r"\bfiscal\s+year\s+ended\s+[A-Za-z]+\s+\d{1,2},\s+(?P<y>20\d\d)\b", "year"),
    (r"\b(?:the|this|its)\s+(?:(?:first|second|third|fourth|final|latest|last|most\s+recent|december|march|june|"
     r"september)\s+)?"
     r"quarter\b(?!\s+of\s+20\d\d)|\bquarterly\b|\bthree\s+months\b|\b[A-Z][a-z]+-[A-Z][a-z]+\s+quarter\b",
     "quarter"),
]


def horizon_year(text: str, anchor: int, published: date | None, fiscal_end: int | None = None,
                 spent: bool = False, anchor_end: int | None = None) -> int | None:
    """The horizon year stated in ``text`` nearest to character ``anchor`` (the amount), or None.

    A plan's horizon cannot lie before the publication year; spent money's year cannot lie after it.
    """
    best: tuple[int, int | None] | None = None
    for pattern, kind in _HORIZON_PATTERNS:
        for m in re.finditer(pattern, text, re.I):
            year = _resolve(kind, m, published, fiscal_end)
            if year is None and kind != "quarter":
                continue
            if year is not None and published is not None and (
                    (not spent and year < published.year) or (spent and year > published.year + 1)):
                continue
            if kind == "quarter" and not spent:
                continue
            after_from = anchor if anchor_end is None else anchor_end
            dist = m.start() - after_from if m.start() >= anchor else (anchor - m.end()) + 2
            if kind == "year" and re.match(r"\s*(?:level|levels|baseline)", text[m.end():]):
                continue
            if _PLEDGE_BEFORE.search(text[max(0, m.start() - 40):m.start()]):
                continue  # 'which aims to become carbon neutral by 2040': the pledge's year, not the plan's
            if best is None or dist < best[0]:
                best = (dist, year if kind != "quarter" else (fiscal_end or (published.year if published else None)))
    return best[1] if best else None


_PLEDGE_BEFORE = re.compile(r"\b(?:net[\s-]?zero|(?:carbon|climate)[\s-](?:neutral(?:ity)?|negative|positive)|"
                            r"water[\s-]positive)(?:\s+[\w-]+){0,3}\s*$", re.I)


def _resolve(kind: str, m: re.Match[str], published: date | None, fiscal_end: int | None) -> int | None:
    pub = published.year if published else None
    if kind == "year":
        return int(m.group("y"))
    if kind == "span":  # '2024-2026', '2024-26': the ending year
        y = m.group("y")
        return int(y) if len(y) == 4 else 2000 + int(y)
    if pub is None and kind != "fiscal":
        return None
    assert pub is not None or kind == "fiscal"
    if kind == "plus":
        n = _word_number(m.group("n"))
        return pub + n if n and pub and n <= 30 else None
    if kind == "decade_next":
        return pub + 10 if pub else None
    if kind == "decade_end":
        return (pub // 10 + 1) * 10 if pub else None
    if kind == "fiscal":
        return fiscal_end or pub
    if kind == "fiscal_next":
        return (fiscal_end or pub or 0) + 1 if (fiscal_end or pub) else None
    if kind == "this":
        return pub
    if kind == "next":
        return pub + 1 if pub else None
    if kind == "last":
        return pub - 1 if pub else None
    return None


_PURPOSE_STOP = {",", ";", "by", "over", "through", "until", "between", "from", "this", "next", "which", "while",
                 "as", "and", "including", "said", "the", "(", "—", "–", "-", "in"}


def _purpose(tokens: Sequence[Token], cand: _Candidate, hi: int) -> str | None:
    """A short noun phrase for what the money is for ('AI data centres'), or None."""
    if cand.cue_kind == "object" and cand.cue is not None:
        noun = tokens[cand.cue]
        words = [t.text for t in tokens[cand.last + 1:noun.i + 1 - tokens[0].i] if t.text != "("]
        return _tidy(" ".join(words))
    if cand.cue_kind == "noun" and cand.cue is not None:
        cue = tokens[cand.cue]
        prep = next((c for c in cue.children if c.dep_ == "prep" and c.lower_ in {"in", "on", "for", "into"}), None)
        if prep is not None:
            obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
            if obj is not None and tokens[0].i <= obj.i < tokens[0].i + hi:
                phrase = _phrase_from(tokens, min(t.i for t in obj.subtree) - tokens[0].i, hi)
                if phrase:
                    return phrase
        if cue.lemma_.lower() in {"capex", "capital", "spending", "budget", "outlay"} or "capital" in cue.text.lower():
            return "capital expenditure"
    k = cand.last + 1
    while k < hi and k < cand.last + 10:
        low = _low(tokens[k])
        phrase = None
        if low in {"in", "on", "into", "for", "towards", "toward"} and k + 1 < hi:
            phrase = _phrase_from(tokens, k + 1, hi)
        elif low == "to" and k + 2 < hi and tokens[k + 1].pos_ == "VERB":
            phrase = _phrase_from(tokens, k + 2, hi)
        if phrase:
            return phrase
        k += 1
    return None


_TIME_PREPS = {"by", "over", "through", "until", "till", "between", "from", "within", "during", "since", "after",
               "before", "as", "starting", "beginning"}


def _phrase_from(tokens: Sequence[Token], k: int, hi: int) -> str | None:
    """The noun phrase starting at token ``k``: its head's subtree without time phrases, relative
    clauses or asides ('AI and cloud infrastructure in Texas', not '... by 2025, which ...')."""
    start = tokens[k]
    head = start
    while head.head is not head and head.head.i < tokens[0].i + hi and head.head.i >= start.i \
            and head.dep_ not in {"pobj", "dobj"}:
        head = head.head
    if head.pos_ not in {"NOUN", "PROPN", "ADJ", "NUM"}:
        return None
    dropped: set[int] = set()
    for child in head.subtree:
        if child.dep_ in {"relcl", "acl", "appos", "advcl"} or (
                child.dep_ == "prep" and child.text.lower() in _TIME_PREPS):
            dropped.update(t.i for t in child.subtree)
    words = [t for t in head.subtree if t.i >= start.i and t.i not in dropped]
    cut: list[Token] = []
    for tok in words:
        if tok.text in {",", ";", "(", ")", "—", "–"} or (cut and tok.i != cut[-1].i + 1):
            break
        cut.append(tok)
    while cut and (cut[0].lower_ in {"the", "a", "an", "its", "their"} or cut[0].pos_ == "DET"):
        cut = cut[1:]
    while cut and cut[-1].pos_ in {"CCONJ", "ADP", "DET", "PART"}:
        cut = cut[:-1]
    cut += _coordinated_tail(tokens, cut, hi)
    if not cut or len(cut) > 14:
        return None
    text = _tidy(" ".join(t.text for t in cut))
    if text and re.search(r"\b(?:year|years|quarter|month|months|fiscal|decade|20\d\d)\b", text, re.I):
        return None
    return text


def _coordinated_tail(tokens: Sequence[Token], cut: list[Token], hi: int) -> list[Token]:
    """'AI and cloud infrastructure' when the parser split the coordination off the phrase."""
    if not cut:
        return []
    base = tokens[0].i
    k = cut[-1].i + 1 - base
    if k + 1 >= hi or tokens[k].lower_ not in {"and", "&"} or tokens[k + 1].pos_ in {"DET", "PRON", "AUX"}:
        return []
    tail = [tokens[k]]
    k += 1
    while k < hi and len(tail) < 5:
        tok = tokens[k]
        if tok.is_punct or tok.pos_ in {"VERB", "AUX"} or tok.lower_ in _TIME_PREPS or tok.lower_ in {
                "to", "which", "that", "in", "on", "for"}:
            break
        tail.append(tok)
        k += 1
    return tail if len(tail) > 1 and tail[-1].pos_ in {"NOUN", "PROPN"} else []


def _tidy(text: str) -> str | None:
    text = re.sub(r"\s+([,.;:'’)%])", r"\1", text).replace(" - ", "-").strip(" ,.;:")
    text = re.sub(r"\s*-\s*", "-", text)
    return text or None


# --- the sentence pass -----------------------------------------------------------------------------------

def _candidates(sent: Span) -> list[_Candidate]:
    out = []
    for money in find_money(sent.text):
        span = sent.char_span(money.start, money.end, alignment_mode="expand")
        if span is None:
            continue
        out.append(_Candidate(money, span.start - sent.start, span.end - 1 - sent.start))
    return out


def investments_in_sentence(inp: SentenceInput) -> list[Investment]:
    """The investments stated in one sentence."""
    sent = inp.span
    tokens = list(sent)
    found: list[Investment] = []
    previous: _Candidate | None = None
    for cand in _candidates(sent):
        lo, hi = _clause_bounds(sent, cand.first)
        _find_cue(tokens, cand, lo, hi)
        linked = previous is not None and _low(tokens[_skip_modifiers_left(tokens, cand.first)]) in {
            "including", "of", "with"} and previous.cue is not None and cand.first - previous.last < 12
        if cand.cue is None and linked and previous is not None:
            cand.cue, cand.cue_kind, cand.excluded = previous.cue, previous.cue_kind, previous.excluded
        elif cand.cue is not None:
            cand.excluded = _excluded(tokens, cand, hi)
        previous = cand
        if cand.cue is None or cand.excluded:
            continue
        found.append(_investment(inp, tokens, cand, lo, hi))
    return found


def _investment(inp: SentenceInput, tokens: Sequence[Token], cand: _Candidate, lo: int, hi: int) -> Investment:
    sent = inp.span
    status = _status(tokens, cand, lo, hi, inp.published)
    clause_lo = tokens[lo].idx - sent.start_char
    clause_hi = (tokens[hi - 1].idx + len(tokens[hi - 1].text)) - sent.start_char
    clause = sent.text[clause_lo:clause_hi]
    anchor = cand.money.start - clause_lo
    spent = status == "spent"
    year = horizon_year(clause, anchor, inp.published, inp.fiscal_end, spent=spent,
                        anchor_end=cand.money.end - clause_lo)
    if year is None:
        year = horizon_year(sent.text[:clause_hi], cand.money.start, inp.published, inp.fiscal_end, spent=spent,
                            anchor_end=cand.money.end)  # earlier clauses may carry it ('from 2023 to 2025, while')
    if year is None and status == "spent" and inp.published is not None:
        year = inp.fiscal_end or None
    company = _investor(inp, tokens, cand, lo)
    confidence = 0.8 if cand.cue_kind in {"verb", "noun"} else 0.65
    purpose = _purpose(tokens, cand, hi) or _acquired(tokens, cand)
    return Investment(company=company, amount=cand.money.amount, currency=cand.money.currency,
                      purpose=purpose, by_year=year, status=status,  # type: ignore[arg-type]
                      evidence=sentence_evidence(inp, confidence))


def sentence_evidence(inp: SentenceInput, confidence: float) -> Evidence:
    """Evidence for a fact of this sentence: offsets into the text, or -1/-1 for the title."""
    sent = inp.span
    if inp.is_title:
        return Evidence(sent.text, -1, -1, confidence)
    start = sent.start_char + inp.offset
    return Evidence(sent.text, start, start + len(sent.text), confidence)


def merge_title(title_facts: list[Investment], body_facts: list[Investment], body_text: str) -> list[Investment]:
    """Title investments count only when the body does not state the same amount (the body decides);
    a body amount restated later ('The $80bn investment will ...') counts once, unless the two
    name different purposes ('$11bn in Georgia' and '$11bn in Indiana')."""
    body_amounts = {(round(m.amount), m.currency) for m in find_money(body_text)}
    kept = [f for f in title_facts if (round(f.amount), f.currency) not in body_amounts]
    body: list[Investment] = []
    for fact in body_facts:
        if not any(_restated(earlier, fact) for earlier in body):
            body.append(fact)
    return kept + body


_PURPOSE_STOPWORDS = {"the", "a", "an", "of", "in", "on", "and", "for", "to", "its", "new", "capital", "expenditure",
                      "investment", "investments", "plan", "project", "programme", "program", "commitment",
                      "pledge", "spending", "total"}


def _restated(earlier: Investment, later: Investment) -> bool:
    if (earlier.company, round(earlier.amount), earlier.currency) != (later.company, round(later.amount),
                                                                    later.currency):
        return False
    if not earlier.purpose or not later.purpose:
        return True
    words_a = set(earlier.purpose.lower().split()) - _PURPOSE_STOPWORDS
    words_b = set(later.purpose.lower().split()) - _PURPOSE_STOPWORDS
    return bool(words_a & words_b) or not words_a or not words_b


def may_hold_investment(text: str) -> bool:
    """Cheap pre-check for a sentence (no spaCy): it states an amount of money."""
    return bool(find_money(text))


def inputs_from_doc(doc: Any, *, published: date | None, mentions: Sequence[tuple[int, int, str]],
                    subject: str | None, is_title: bool = False, offset: int = 0,
                    fiscal_end: int | None = None, company_of: CompanyOf | None = None) -> list[SentenceInput]:
    """Per-sentence inputs for a spaCy ``doc`` whose company ``mentions`` are (start, end, canonical
    name) character ranges of the doc's text; ``offset`` shifts evidence offsets."""
    if fiscal_end is None:
        fiscal_end = fiscal_year_end(doc.text, published)
    return [SentenceInput(sent, offset, published, subject, company_of, fiscal_end, is_title, tuple(mentions))
            for sent in doc.sents]


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import spacy

    return spacy.blank("en")


def sentence_inputs(ctx: Any, unparsed: Callable[[str], bool] | None = None) -> list[SentenceInput]:
    """Per-sentence inputs for a ``monitor.extract.context.DocContext``: its parsed sentences
    (title first), each a spaCy doc of its own whose offsets shift by ``Sentence.start``.

    Sentences the context did not parse are skipped, unless ``unparsed(text)`` is true: those are
    tokenised (no parse), and their facts fall back to the sentence's companies and the subject.
    """
    fiscal_end = fiscal_year_end(ctx.text or "", ctx.published)
    out: list[SentenceInput] = []
    for sent in ctx.sentences:
        doc = getattr(sent, "doc", None)
        if doc is None:
            if unparsed is None or not unparsed(sent.text):
                continue
            doc = _tokenizer()(sent.text)
        off = 0 if sent.is_title else sent.start
        mentions = tuple((m.start + off, m.end + off, m.name) for m in sent.mentions)

        def company_of(start: int, end: int, _sent: Any = sent, _off: int = off) -> str | None:
            name: str | None = _sent.company_of(start - _off, end - _off)
            return name

        out.append(SentenceInput(doc[:], off, ctx.published, ctx.subject, company_of, fiscal_end,
                                 bool(sent.is_title), mentions, getattr(ctx, "subject_sector", None)))
    return out


def find_investments(ctx: Any) -> list[Investment]:
    """Investments in a document context (see ``monitor.extract.context``), in text order."""
    title_facts: list[Investment] = []
    body_facts: list[Investment] = []
    for inp in sentence_inputs(ctx):
        facts = investments_in_sentence(inp)
        (title_facts if inp.is_title else body_facts).extend(facts)
    return merge_title(title_facts, body_facts, getattr(ctx, "text", ""))
