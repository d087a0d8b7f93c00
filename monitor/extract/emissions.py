"""Emission changes: a company's emissions, energy or water use changing by a stated amount.

For each quantity in a parsed candidate sentence (``numbers.find_quantities``: percents, multiplier
words, tonnes), the quantity is anchored to its clause through the dependency parse:

1. the *clause verb* is the first verb above the number ('rose' in 'emissions rose 5%');
2. the *metric* comes from the noun phrase that holds the number ('a 6% rise in emissions',
   '34% more electricity'), else the clause subject, else the verb's objects and 'in' phrases;
   a clause whose subject is some other thing ('Net sales rose 11%') yields nothing, which keeps
   revenue and cloud growth rates away from the emissions noun in the same sentence;
3. the *direction* comes from the multiplier word, the word governing the number (higher, lower,
   more, less, up, down, rise, cut), or the clause verb; none -> no fact;
4. exclusions: intensity ('per tonne', 'intensity'), avoided / counterfactual / offsets / savings,
   renewable shares, percentage points, levels ('to 14.3 Mt', 'X% of'), negation ('did not rise'),
   questions and hypotheticals ('if it had');
5. *status*: target (aim / pledge / goal / plan words above the verb, or 'by <future year>' on a
   non-past verb), forecast (could / may / expected / projected / likely / will), else reported;
6. *years*: 'in 2023', fiscal years, 'last year' (from the published date) give ``year``; 'since
   2019', 'than in 2019', '2019 levels', 'compared with 2019' give ``base_year``; 'year on year' or
   a reported change with a year and no base gives ``year - 1``; for targets ``year`` is the horizon;
7. *company*: the possessor of the metric noun ('Google's emissions', 'its' -> the subject), else
   the clause's or sentence's company, else the article's subject; countries and sectors -> None.

Cue words are data in ``models/emission_cues.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.extract.context import (
    ANAPHOR_NOUNS,
    DocContext,
    Sentence,
    find_years,
    fiscal_year_end,
    in_descriptor,
)
from monitor.extract.numbers import Quantity, find_quantities
from monitor.types import EmissionChange

if TYPE_CHECKING:
    from spacy.tokens import Token

__all__ = ["find_emission_changes", "changes_in_sentence", "load_cues"]

MODELS = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class Cues:
    """The word lists of ``models/emission_cues.json`` as sets and phrase tuples."""

    metric_phrases: list[tuple[str, tuple[str, ...]]]
    increase: frozenset[str]
    decrease: frozenset[str]
    forecast: frozenset[str]
    target: frozenset[str]
    exclusion: list[str]
    raw: dict[str, Any]


@lru_cache(maxsize=4)
def load_cues(models_dir: str | None = None) -> Cues:
    """Read the cue lists (cached)."""
    base = Path(models_dir) if models_dir else MODELS
    data = json.loads((base / "emission_cues.json").read_text(encoding="utf-8"))
    phrases = [(metric, tuple(p.split())) for metric, ps in data["metric_nouns"].items() for p in ps]
    phrases.sort(key=lambda mp: -len(mp[1]))
    return Cues(phrases, frozenset(data["increase_words"]), frozenset(data["decrease_words"]),
                frozenset(data["forecast_words"]), frozenset(data["target_words"]),
                list(data["exclusion_words"]), data)


_CLAUSE_DEPS = {"ccomp", "advcl", "relcl", "parataxis", "acl"}
_SUBJ = {"nsubj", "nsubjpass", "csubj", "expl"}
_NONCOMPANY_SUBJ = {"country", "nation", "sector", "industry", "city", "state", "economy", "region",
                    "aviation", "shipping", "airlines", "carmakers", "companies", "firms", "government",
                    "globe", "planet", "grid", "continent", "bloc", "market", "households", "union", "eu",
                    "airports"}
_ENERGY_METRIC_OK_HEADS = {"use", "consumption", "usage", "demand", "needs", "burn", "draw", "withdrawal",
                           "withdrawals", "intake", "consumed", "bill"}
_LEVEL_BEFORE = {"to", "at", "from", "of", "reached", "reach", "totalled", "totaled", "stood", "represent",
                 "represented", "accounted", "comprise", "comprised"}
_SHARE_AFTER = {"of", "share", "stake", "from", "renewable", "renewables", "clean", "below"}
_BASE_PREP = re.compile(
    r"\b(?:since|from|than(?: in)?|compared (?:with|to)|relative to|versus|vs\.?|against|on|over|below|above|"
    r"(?:from|on|over|below|above|against) (?:its |their |the |a )?)(?:\s*(?:fiscal |FY|the )?)'?((?:19|20)\d\d)\b"
    r"|\b((?:19|20)\d\d)(?:\s|-)(?:levels?|baseline|base year|base-year)\b"
    r"|\b(?:baseline|base year) (?:of |year )?((?:19|20)\d\d)\b"
    r"|\bbetween ((?:19|20)\d\d) and (?:19|20)\d\d\b", re.IGNORECASE)
_BY_YEAR = re.compile(r"\b(?:by|in|before|until|through|to)\s+(?:the end of\s+|end-|fiscal\s+|FY)?((?:19|20)\d\d)\b",
                      re.IGNORECASE)
_PRIOR = re.compile(r"\b(?:year[- ](?:on|over)[- ]year|a year earlier|from a year ago|a year ago|the previous year|"
                    r"the prior year|the year before|over the (?:same )?(?:period|year)|in a single year|"
                    r"annual(?:ly)?|yoy|y/y)\b", re.IGNORECASE)


def find_emission_changes(ctx: DocContext, cues: Cues | None = None) -> list[EmissionChange]:
    """Emission changes in a document context: title facts first (only those the body does not
    repeat with the same key), then body facts in text order."""
    cues = cues or load_cues()
    title: list[EmissionChange] = []
    body: list[EmissionChange] = []
    for sent in ctx.candidates:
        found = changes_in_sentence(ctx, sent, cues)
        (title if sent.is_title else body).extend(found)
    body_keys = {_key(f) for f in body}
    body_values = {_key(f)[1:] for f in body if f.company}
    body_changes = {_key(f)[:4] for f in body}
    # a title fact the body repeats is the body's; one without a company whose figure the body
    # gives with a company is that fact too
    kept_title = [f for f in title
                  if _key(f) not in body_keys and _key(f)[:4] not in body_changes
                  and not (f.company is None and _key(f)[1:] in body_values)]
    return kept_title + body


def _key(f: EmissionChange) -> tuple[Any, ...]:
    return (f.company, f.direction, round(f.value, 1), f.unit, f.status)


def changes_in_sentence(ctx: DocContext, sent: Sentence, cues: Cues) -> list[EmissionChange]:
    """Emission changes stated in one parsed sentence."""
    if sent.doc is None or _is_question(sent.text):
        return []
    out = []
    seen: set[int] = set()
    by_prep: dict[int, EmissionChange] = {}
    for q in find_quantities(sent.text):
        if q.kind == "pp" or q.start in seen:
            continue
        fact = _change_for(ctx, sent, q, cues)
        prep = _by_prep(sent.doc, q)
        if fact is None and prep is not None and prep.dep_ == "conj":
            first = prep
            while first.dep_ == "conj" and first.head.i != first.i:
                first = first.head
            earlier = by_prep.get(first.i) or by_prep.get(first.head.i)
            if earlier is not None:
                fact = _conjunct(ctx, sent, q, earlier)  # '... by 35% by 2025 and by 65% by 2030'
        if fact is not None:
            out.append(fact)
            seen.add(q.start)
            if prep is not None:
                by_prep[prep.i] = fact
                by_prep.setdefault(prep.head.i, fact)
    return out


def _by_prep(doc: Any, q: Quantity) -> Token | None:
    toks = _tokens_of(doc, q)
    if not toks:
        return None
    h = _root_of(toks).head
    return h if h.lower_ == "by" and h.dep_ in ("prep", "conj") else None


def _conjunct(ctx: DocContext, sent: Sentence, q: Quantity, first: EmissionChange) -> EmissionChange:
    """A gapped conjunct inherits the first conjunct's metric, direction, status and company."""
    year = first.year
    if first.status != "reported":
        m = _BY_YEAR.search(sent.text, q.end)
        year = int(m.group(1)) if m else year
    return EmissionChange(first.company, first.metric, first.direction, round(q.value, 4), q.unit,  # type: ignore[arg-type]
                          first.base_year, year, first.status, sent.evidence(0.6))


def _is_question(text: str) -> bool:
    return text.rstrip(" '\"’”").endswith("?")


# --- anchoring ----------------------------------------------------------------------------------

def _tokens_of(doc: Any, q: Quantity) -> list[Token]:
    return [t for t in doc if q.start <= t.idx < q.end]


def _root_of(toks: list[Token]) -> Token:
    ids = {t.i for t in toks}
    for t in toks:
        if t.head.i not in ids or t.head.i == t.i:
            return t
    return toks[-1]


def _is_verb(t: Token) -> bool:
    return t.pos_ in ("VERB", "AUX") and t.lower_ not in load_cues().raw["noun_not_verb"]


def _clause_verb(tok: Token) -> Token:
    t = tok
    while not _is_verb(t) and t.head.i != t.i:
        t = t.head
    return t


def _subjects(verb: Token) -> list[Token]:
    """All subject children of the verb (the small model splits 'scope 1 and 2 emissions' into
    several), climbing through xcomp/conj/acomp to the verb that has them."""
    v = verb
    for _ in range(6):
        found = [c for c in v.children if c.dep_ in _SUBJ and c.dep_ != "expl"]
        if found and v.dep_ == "relcl" and found[0].lower_ in ("which", "that", "who"):
            return [v.head]
        if found:
            return found
        if v.dep_ == "relcl" or (v.dep_ == "acl" and v.tag_ == "VBG" and v.head.pos_ in ("NOUN", "PROPN")):
            return [v.head]  # 'emissions, which rose 5%'; 'showed its emissions falling 6.5%'
        if v.dep_ in ("xcomp", "conj", "acomp", "advcl", "pcomp", "auxpass", "aux") and v.head.i != v.i:
            if v.dep_ == "advcl" and v.head.lemma_ in ("say", "report", "show", "tell", "note", "add"):
                objs = [c for c in v.head.children if c.dep_ == "dobj"]
                # 'the report showed scope 2 emissions rising 4.1%': the participle's subject is the object
                return objs if v.tag_ == "VBG" and v.head.lemma_ in ("show", "report") and objs else []
            v = v.head
            continue
        return []
    return []


def _subject(verb: Token) -> Token | None:
    v = verb
    for _ in range(6):
        for c in v.children:
            if c.dep_ in _SUBJ:
                if c.dep_ == "expl":
                    continue
                return c
        if v.dep_ == "relcl":
            return v.head
        if v.dep_ in ("xcomp", "conj", "acomp", "advcl", "pcomp", "ccomp", "auxpass", "aux") and v.head.i != v.i:
            if v.dep_ in ("ccomp", "advcl") and v.head.lemma_ in ("say", "report", "show", "tell", "note", "add"):
                return None
            v = v.head
            continue
        return None
    return None


def _clause_tokens(verb: Token, q_ids: set[int]) -> list[Token]:
    """The verb's subtree minus embedded clauses that do not hold the quantity."""
    out: list[Token] = []

    def walk(t: Token) -> None:
        out.append(t)
        for c in t.children:
            embedded = c.dep_ in _CLAUSE_DEPS or (c.dep_ == "conj" and c.pos_ in ("VERB", "AUX"))
            if embedded and not any(x.i in q_ids for x in c.subtree):
                continue
            walk(c)

    walk(verb)
    return sorted(out, key=lambda t: t.i)


def _metric_in(tokens: list[Token], cues: Cues, core: set[int] | None = None,
               strict: bool = True) -> tuple[str, Token] | None:
    """The metric named in a token list (longest phrase first; combined scopes 1+2 -> ghg)."""
    words = [t.text.lower() for t in tokens]
    lemmas = [t.lemma_.lower() for t in tokens]
    best: tuple[int, str, Token] | None = None
    for metric, phrase in cues.metric_phrases:
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if all(words[i + k] == phrase[k] or lemmas[i + k] == phrase[k] for k in range(n)):
                if strict and metric == "energy" and n == 1 and not _energy_ok(tokens, i):
                    continue
                if strict and metric == "water" and n == 1 and not _water_ok(tokens, i):
                    continue
                if core is not None and not any(tokens[i + k].i in core for k in range(n)):
                    continue
                score = n * 10 + (5 if metric != "ghg" else 0)
                if best is None or score > best[0]:
                    best = (score, metric, tokens[i + n - 1])
                break
    if best is None:
        return None
    metric, head = best[1], best[2]
    if metric in ("scope1", "scope2") and _combined_scopes(tokens):
        metric = "ghg"
    return metric, head


def _scope_in(tokens: list[Token], cues: Cues) -> str | None:
    """A scope named anywhere in an argument ('emissions from manufacturing in its supply chain',
    'those emissions, which fall under scope 3'); combined scopes 1+2 stay ghg."""
    if _combined_scopes(tokens):
        return None
    for metric in ("scope3", "scope2", "scope1"):
        for m, phrase in cues.metric_phrases:
            if m != metric:
                continue
            n = len(phrase)
            words = [t.lower_ for t in tokens]
            if any(tuple(words[i:i + n]) == phrase for i in range(len(words) - n + 1)):
                return metric
    return None


def _combined_scopes(tokens: list[Token]) -> bool:
    text = " ".join(t.text.lower() for t in tokens)
    return bool(re.search(r"scope 1 (?:and|&|\+|,) ?(?:scope )?2|scope 1-2|scopes 1 and 2|scope one and two", text))


def _energy_ok(tokens: list[Token], i: int) -> bool:
    """A bare 'electricity'/'energy'/'power'/'fuel' is an energy metric only as the thing consumed."""
    t = tokens[i]
    if t.dep_ in ("compound", "amod") and t.head.lemma_.lower() in ("emission", "cost", "price", "bill", "share",
                                                                     "purchase", "contract", "source", "capacity",
                                                                     "plant", "sector", "company", "project"):
        return False
    if t.dep_ == "compound" and t.head.lemma_.lower() in _ENERGY_METRIC_OK_HEADS:
        return True
    if t.dep_ in ("dobj", "pobj", "nsubjpass") and t.head.lemma_.lower() in ("consume", "use", "draw", "burn",
                                                                              "of", "need", "require"):
        return t.dep_ != "pobj" or t.head.head.lemma_.lower() in ("consumption", "use", "usage", "demand")
    if t.text.lower() in ("consumed", "consumption"):
        return True
    if any(c.dep_ == "acl" and c.lemma_.lower() in ("consume", "use", "burn", "draw") for c in t.children):
        return True
    return any(c.lemma_.lower() in ("more", "less") for c in t.children)


def _water_ok(tokens: list[Token], i: int) -> bool:
    t = tokens[i]
    if t.dep_ == "compound" and t.head.lemma_.lower() in ("use", "consumption", "usage", "withdrawal", "footprint",
                                                           "intake", "draw"):
        return True
    return t.dep_ in ("dobj", "nsubjpass") and t.head.lemma_.lower() in ("consume", "use", "withdraw", "draw")


def _np_holding(root: Token) -> Token | None:
    """The nominal that the quantity modifies or heads ('a 6% rise in ...', '34% more electricity')."""
    t = root
    for _ in range(4):
        h = t.head
        if h.i == t.i or _is_verb(h):
            return t if t.pos_ in ("NOUN", "PROPN") and t is not root else None
        if (h.pos_ in ("NOUN", "PROPN") or h.lower_ in load_cues().raw["noun_not_verb"]) and \
                h.lemma_.lower() not in ("%", "percent", "cent", "year"):
            return h
        t = h
    return None


# '60% higher than those of rival Fortum', '20% below the industry average': a comparison between
# companies, not a change over time
_CROSS_COMPARISON = re.compile(
    r"\s*(?:higher|lower|more|less|above|below|greater|smaller|bigger)\s+than\s+(?:"
    r"(?:those|that)\s+(?:of|at)\b|(?:at\s+)?(?:its|their|the)\s+(?:\w+\s+)?(?:rivals?|peers?|competitors?)\b|"
    r"(?:the\s+)?(?:industry|sector|market|peer[- ]group)\s+average\b)"
    r"|\s*(?:above|below|under|over)\s+(?:the\s+)?(?:industry|sector|market|peer[- ]group)\s+average\b",
    re.IGNORECASE)

_DIRECTION_NOUNS = {"rise", "increase", "jump", "growth", "surge", "climb", "gain", "fall", "decrease",
                    "decline", "drop", "cut", "reduction", "fell", "dip", "slide", "spike", "reversal", "change",
                    "improvement", "contraction", "halving", "doubling", "increment", "uptick", "downturn"}
_CORE_DEPS = {"compound", "amod", "nmod", "nummod", "quantmod", "conj", "cc", "appos"}


def _core(head: Token, cues: Cues) -> set[int]:
    """Token ids of a noun phrase's core: the head, its compounds/modifiers, and (when the head is
    itself a metric, measure or change word) the objects of its 'of'/'from'/'in'/'at' phrases."""
    heads = set(cues.raw["emission_heads"]) | set(cues.raw["energy_heads"]) | _DIRECTION_NOUNS | {
        "footprint", "intensity", "output", "level", "total", "figure", "scope", "withdrawal",
        "%", "percent", "cent"}  # 'the increase of 9% in its emissions'
    out: set[int] = set()

    def walk(t: Token) -> None:
        out.add(t.i)
        for c in t.children:
            if c.dep_ in _CORE_DEPS:
                walk(c)
            elif c.dep_ == "prep" and c.lower_ in ("of", "from", "in", "at") and (
                    t.lemma_.lower() in heads or t.lower_ in heads):
                for p in c.children:
                    if p.dep_ == "pobj":
                        walk(p)
            elif c.dep_ in ("acl",) and c.lower_ in ("tied", "linked", "related", "associated", "attributable"):
                walk(c)
                for p in c.children:
                    if p.dep_ == "prep":
                        for o in p.children:
                            if o.dep_ == "pobj":
                                walk(o)
    walk(head)
    return out


def _metric_core(arg: Token, cues: Cues) -> tuple[str, Token] | None:
    """The metric of an argument whose match touches the argument's core."""
    if not _measure_head(arg, cues):
        return None
    core = _core(arg, cues)
    return _metric_in(list(arg.subtree), cues, core)


def _measure_head(arg: Token, cues: Cues) -> bool:
    """Whether a noun phrase's head names a measured quantity (emissions, use, footprint, a
    change noun ...) rather than some other thing ('a lower-carbon spending plan')."""
    words = set(cues.raw["emission_heads"]) | set(cues.raw["energy_heads"]) | _DIRECTION_NOUNS | {
        "footprint", "intensity", "output", "level", "levels", "total", "figure", "scope", "withdrawal", "water",
        "freshwater", "electricity", "energy", "fuel", "power", "1", "2", "3", "consumption", "emission"}
    return arg.lower_ in words or arg.lemma_.lower() in words


def _change_for(ctx: DocContext, sent: Sentence, q: Quantity, cues: Cues) -> EmissionChange | None:
    doc = sent.doc
    toks = _tokens_of(doc, q)
    if not toks:
        return None
    root = _root_of(toks)
    q_ids = {t.i for t in toks}
    if _is_level(doc, toks, q) or _CROSS_COMPARISON.match(sent.text, q.end):
        return None
    verb = _clause_verb(root)
    clause = _clause_tokens(verb, q_ids)
    subjs = _subjects(verb)
    metric_hit = None
    arg: list[Token] = []
    np = _np_holding(root)
    if np is not None:
        metric_hit = _metric_core(np, cues)
        arg = list(np.subtree)
        if metric_hit is None and np.lemma_.lower() in _DIRECTION_NOUNS and np.dep_ in ("appos", "npadvmod") and \
                not any(c.dep_ == "prep" and c.lower_ == "in" for c in np.children):
            np = None  # 'emissions climbed to 30 million tonnes, a rise of 9%': the clause has the metric
        elif metric_hit is None and np.lemma_.lower() in _DIRECTION_NOUNS and (
                any(c.dep_ == "prep" and c.lower_ in ("in", "of") for c in np.children)
                or not (_under_target_noun(np) or _under_target_verb(np))):
            return None  # 'a 42% fall in core profit''

    subj_ids: set[int] = set()
    for sj in subjs:
        subj_ids |= {t.i for t in sj.subtree}
    if metric_hit is None and subjs:
        heads = [sj for sj in subjs if _measure_head(sj, cues)]
        if heads:
            core = set().union(*(_core(sj, cues) for sj in heads))
            tokens = sorted({t.i: t for sj in subjs for t in sj.subtree}.values(), key=lambda t: t.i)
            metric_hit = _metric_in(tokens, cues, core)
            if metric_hit:
                arg = tokens
        transitive = any(c.dep_ == "dobj" for c in verb.children)
        if metric_hit is None and any(_blocks(sj, ctx, sent) for sj in subjs) and not transitive and \
                verb.lemma_.lower() not in cues.raw["consumption_verbs"]:
            return None
    objs = [c for c in verb.children if c.dep_ == "dobj" and c.i not in q_ids]
    if metric_hit is None and len(objs) > 1 and any(_measure_head(o, cues) for o in objs):
        core = set().union(*(_core(o, cues) for o in objs if _measure_head(o, cues)))
        tokens = sorted({t.i: t for o in objs for t in o.subtree}.values(), key=lambda t: t.i)
        metric_hit = _metric_in(tokens, cues, core)  # 'cut its scope 3 emissions' parsed as two objects
        arg = tokens if metric_hit else arg
    if metric_hit is None:
        for c in verb.children:
            if c.dep_ in ("dobj", "nsubjpass", "attr", "oprd") or (c.dep_ == "prep" and c.lower_ in ("in", "of")):
                target = c if c.dep_ != "prep" else next((o for o in c.children if o.dep_ == "pobj"), None)
                if target is None or target.i in q_ids:
                    continue
                metric_hit = _metric_core(target, cues)
                if metric_hit:
                    arg = list(target.subtree)
                    break
    if metric_hit is None and verb.lemma_.lower() in cues.raw["consumption_verbs"]:
        objs = [t for c in verb.children if c.dep_ == "dobj" for t in c.subtree]
        metric_hit = _metric_in(objs, cues, strict=False)  # 'consumed 30.8 TWh of electricity, up 27%'
        arg = objs
    if metric_hit is None and subjs and verb.lower_ in cues.raw["energy_heads"]:
        # verbless headline: 'Baidu data centre power use up 30%' (the noun 'use' parsed as a verb)
        tokens = sorted({t.i: t for sj in subjs for t in sj.subtree}.values(), key=lambda t: t.i) + [verb]
        metric_hit = _metric_in(tokens, cues, strict=False)
        arg = tokens
    if metric_hit is None:
        metric_hit = _metric_by_reference(ctx, sent, verb, root, np, cues)
        if metric_hit is not None:
            arg = [metric_hit[1]]
    if metric_hit is None:
        return None
    metric, mtok = metric_hit
    if metric == "ghg" and arg:
        scoped = _scope_in(arg, cues)
        metric = scoped or metric
    if _excluded(doc, arg or [mtok], toks, cues):
        return None
    direction = _direction(q, root, verb, clause, cues)
    if direction is None or _negated(verb, root):
        return None
    if _hypothetical(verb, sent.text):
        return None
    status = "target" if np is not None and _under_target_noun(np) else _status(ctx, verb, clause, sent, cues)
    year, base = _years(ctx, sent, clause, status, q)
    company = _company(ctx, sent, mtok, subjs[0] if subjs else None, verb, clause)
    conf = 0.55 + (0.15 if np is not None or mtok.i in subj_ids else 0) \
        + (0.1 if company else 0) + (0.1 if year else 0)
    return EmissionChange(company=company, metric=metric, direction=direction,  # type: ignore[arg-type]
                          value=round(q.value, 4), unit=q.unit, base_year=base,  # type: ignore[arg-type]
                          year=year, status=status, evidence=sent.evidence(conf))  # type: ignore[arg-type]


_TARGET_NOUNS = {"target", "goal", "pledge", "ambition", "commitment", "aim", "plan", "objective", "promise"}


# 'Analysts at a Frankfurt bank project that ...' (the small model often reads 'bank project' as a noun)
_ANALYSTS_SEE = re.compile(r"\b(?:analysts?|economists?|forecasters?|strategists?|brokerage|consultancy)\b[^.;]{0,60}?"
                           r"\b(?:project|projects|expect|expects|forecast|forecasts|predict|predicts|estimate|"
                           r"estimates|see|sees)\s+(?:that\b|the\b|its\b|their\b|(?-i:[A-Z]))", re.IGNORECASE)
_TARGET_VERBS = {"target", "aim", "seek", "pledge", "commit", "promise", "intend"}


def _under_target_verb(t: Token) -> bool:
    """'It is targeting a 30% reduction', 'aims for a 70% cut': a change noun a target verb governs."""
    head = t.head
    if head.dep_ == "prep" and head.lower_ in ("for", "to"):
        head = head.head
    return t.dep_ in ("dobj", "pobj") and head.lemma_.lower() in _TARGET_VERBS


def _under_target_noun(t: Token) -> bool:
    return any(a.lemma_.lower() in _TARGET_NOUNS for a in list(t.ancestors)[:3])


def _metric_by_reference(ctx: DocContext, sent: Sentence, verb: Token, root: Token, np: Token | None,
                         cues: Cues) -> tuple[str, Token] | None:
    """'cut them by 34%', 'its goal of a 36% cut': the metric named earlier in the sentence (or
    in the previous parsed sentence) when the quantity's own phrase only points back to it."""
    pointing = any(c.dep_ in ("dobj", "nsubjpass") and c.lower_ in ("them", "it", "these", "those")
                   for c in verb.children)
    if not pointing and not (np is not None and np.lemma_.lower() in _DIRECTION_NOUNS
                             and (_under_target_noun(np) or _under_target_verb(np))):
        return None
    before = [t for t in verb.doc if t.i < min(verb.i, root.i)]
    hit = _metric_in(before, cues)
    if hit is None and sent.index > 0:
        prev = ctx.sentences[sent.index - 1]
        if prev.doc is not None and not prev.is_title:
            hit = _metric_in(list(prev.doc), cues)
    return hit


def _is_level(doc: Any, toks: list[Token], q: Quantity) -> bool:
    """'to 14.3 Mt', 'at 20%', '18% of the freshwater', '80% renewable' are levels or shares."""
    if q.kind in ("mult", "frac") or _root_of(toks).head.lemma_.lower() in _DIRECTION_NOUNS:
        return False  # 'doubled', 'a goal of a 36% cut'
    first, last = toks[0], toks[-1]
    prev = doc[first.i - 1] if first.i > 0 else None
    while prev is not None and prev.text.lower() in ("about", "around", "roughly", "nearly", "almost", "some",
                                                     "over", "than", "more", "just", "approximately", "only",
                                                     "an", "estimated", "a", "record", "least"):
        prev = doc[prev.i - 1] if prev.i > 0 else None
    if prev is not None and prev.lower_ == "at" and prev.i + 1 < len(doc) and \
            doc[prev.i + 1].lower_ in ("least", "most"):
        prev = doc[prev.i - 1] if prev.i > 0 else None  # 'by at least 50%' is a change, 'at 50%' a level
    if prev is not None and prev.text.lower() in _LEVEL_BEFORE and prev.pos_ != "PART" and not (
            prev.text.lower() == "of" and prev.head.lemma_.lower() in _DIRECTION_NOUNS):
        return True
    nxt = doc[last.i + 1] if last.i + 1 < len(doc) else None
    if q.kind in ("pct",) and nxt is not None and nxt.text.lower() in _SHARE_AFTER:
        if nxt.text.lower() == "below":
            return False
        return nxt.text.lower() != "from"
    return False


def _blocks(subj: Token, ctx: DocContext, sent: Sentence) -> bool:
    """Whether a clause subject without a metric is some other measured thing (sales, revenue)."""
    if subj.pos_ in ("PRON", "PROPN") or subj.ent_type_ in ("ORG", "GPE", "NORP", "PERSON"):
        return False
    if sent.company_of(subj.idx, subj.idx + len(subj.text)):
        return False
    return subj.lemma_.lower() not in ANAPHOR_NOUNS


def _excluded(doc: Any, arg: list[Token], qtoks: list[Token], cues: Cues) -> bool:
    """Intensity, avoided, offsets, savings, shares: look at the metric's argument, the words
    between it and the quantity, and a few words after the quantity."""
    hi = max(arg[-1].i, qtoks[-1].i + 4)
    ids = {t.i for t in arg}
    after = {t.i for t in qtoks[0].head.subtree if qtoks[-1].i < t.i <= qtoks[-1].i + 8}
    words = [t.text.lower() for t in doc
             if t.i in ids or t.i in after or (min(arg[-1].i, qtoks[0].i) <= t.i <= hi)]
    text = " " + " ".join(words) + " "
    text = text.replace(" per cent ", " percent ")
    return any(f" {w} " in text for w in cues.exclusion)


def _direction(q: Quantity, root: Token, verb: Token, clause: list[Token], cues: Cues) -> str | None:
    if q.direction:
        return q.direction
    near = [root.head] + [c for c in root.children] + [root.head.head]
    for t in near:
        d = _dir_word(t, cues)
        if d:
            return d
    d = _dir_word(verb, cues)
    if d:
        return d
    for t in clause:
        if t.i > root.i + 3:
            break
        if abs(t.i - root.i) <= 4:
            d = _dir_word(t, cues)
            if d:
                return d
    return None


def _dir_word(t: Token, cues: Cues) -> str | None:
    w, lem = t.text.lower(), t.lemma_.lower()
    nxt = t.nbor(1) if t.i + 1 < len(t.doc) else None
    if nxt is not None and ((w in ("more", "less") and nxt.lower_ == "than") or (w == "up" and nxt.lower_ == "to")
                            or (w in ("over", "under", "above", "below") and nxt.like_num
                                and not re.fullmatch(r"(?:19|20)\d\d", nxt.text))):
        return None  # 'more than 90%', 'up to 5%', 'over 20%' are approximators
    if w in ("by", "to", "over", "above", "more") and t.pos_ == "ADP":
        return None
    if w in cues.increase or lem in cues.increase:
        if w in ("over", "above") and t.pos_ == "ADP":
            return None
        return "increase"
    if w in cues.decrease or lem in cues.decrease:
        return "decrease"
    return None


def _negated(verb: Token, root: Token) -> bool:
    """'did not rise', 'never increased'."""
    words = set(load_cues().raw["negation_words"])
    return any(c.dep_ == "neg" or c.lower_ in words for t in (verb, root.head) for c in t.children)


def _hypothetical(verb: Token, text: str) -> bool:
    """'if it had bought no clean power', 'would have been', 'not a forecast' (patterns in data),
    or the clause sits under an 'if'/'unless' condition."""
    low = text.lower()
    if any(re.search(p, low) for p in load_cues().raw["hypothetical_words"]):
        return True
    if any(any(c.dep_ == "mark" and c.lower_ in ("if", "unless") for c in t.children)
           for t in [verb, *verb.ancestors]):
        return True
    # 'If the grounding lasted a year, emissions would be 60% lower': a conditional main clause
    # ... but 'could fall 20% by 2027 if the solar farms arrive on time' is a forecast with a condition:
    # only a past-tense condition ('if the plant drew all its power from gas') is counterfactual
    conditional = any(t.dep_ == "mark" and t.lower_ in ("if", "unless") and t.head.dep_ == "advcl"
                      and t.head.tag_ in ("VBD", "VBN") for t in verb.doc)
    return conditional and any(c.dep_ == "aux" and c.lower_ in ("would", "could", "might", "'d") for c in verb.children)


_MODALS = {"will", "would", "could", "might", "may", "should", "'ll", "wo", "shall", "must"}
_FORECAST_LEMMAS = {"expect", "forecast", "project", "predict", "anticipate", "estimate", "likely", "set", "poised",
                    "course", "due", "scenario"}


def _modal_chain(verb: Token) -> list[Token]:
    """The verb and the verbs it is an infinitive/complement of ('aims to cut', 'is expected to
    rise', 'would more than halve'), stopping at reporting verbs."""
    chain = [verb]
    v = verb
    for _ in range(4):
        if v.dep_ in ("xcomp", "acomp", "auxpass", "pcomp") or (v.dep_ == "conj" and not any(
                c.dep_ in _SUBJ for c in v.children)) or (v.dep_ == "ccomp" and any(
                c.dep_ == "aux" and c.lower_ == "to" for c in v.children)):
            v = v.head
            chain.append(v)
            continue
        if v.dep_ == "pobj" or v.dep_ == "prep":
            v = v.head
            chain.append(v)
            continue
        break
    return chain


def _status(ctx: DocContext, verb: Token, clause: list[Token], sent: Sentence, cues: Cues) -> str:
    """reported / forecast / target from modality, tense and cue words."""
    chain = _modal_chain(verb)
    lemmas = {t.lemma_.lower() for t in chain} | {t.lower_ for t in chain}
    aux = {c.lower_ for t in chain for c in t.children if c.dep_ in ("aux", "auxpass", "advmod", "acomp")}
    aux |= {c.lemma_.lower() for t in chain for c in t.children if c.dep_ in ("aux", "auxpass", "advmod", "acomp")}
    for t in [verb, *verb.ancestors]:
        if t.pos_ == "NOUN" and t.lemma_.lower() in ("target", "goal", "pledge", "ambition", "commitment", "aim",
                                                     "plan", "objective", "promise", "path", "pathway"):
            return "target"
        if t.lemma_.lower() in ("say", "report", "tell", "show", "announce", "disclose"):
            break
    targets = cues.target - {"by", "plan", "plans", "planned"}
    if lemmas & targets or (lemmas & {"plan"} and verb.tag_ == "VB"):
        return "target"
    future_by = _future_by(ctx, clause)
    if lemmas & _FORECAST_LEMMAS or aux & {"likely", "expected", "set", "poised"}:
        return "forecast"
    if any(a.lemma_.lower() in {"project", "expect", "forecast", "predict", "anticipate", "estimate"}
           and a.pos_ == "VERB" for a in list(verb.ancestors)[:3]) or _ANALYSTS_SEE.search(sent.text[:verb.idx]):
        return "forecast"  # 'analysts project that its emissions will fall a third by 2026'

    if aux & _MODALS:
        if future_by and not (aux & {"could", "might", "may"}):
            return "target"
        return "forecast"
    if verb.tag_ in ("VBD", "VBN"):
        return "reported"
    if future_by and verb.tag_ in ("VB", "VBP", "VBZ", "VBG"):
        return "target"
    return "reported"


def _future_by(ctx: DocContext, clause: list[Token]) -> bool:
    text = _text(clause)
    pub = ctx.published.year if ctx.published else None
    for m in _BY_YEAR.finditer(text):
        y = int(m.group(1))
        if m.group(0).lower().startswith(("by", "before", "until")) and (pub is None or y >= pub):
            return True
    return False


def _text(tokens: list[Token]) -> str:
    return " ".join(t.text for t in tokens)


def _clause_range(clause: list[Token], q: Quantity) -> tuple[int, int]:
    """Character range of the clause (at least the quantity itself)."""
    if not clause:
        return q.start, q.end
    return min(clause[0].idx, q.start), max(clause[-1].idx + len(clause[-1].text), q.end)


def _base_year(text: str, lo: int, hi: int, q: Quantity) -> int | None:
    """The comparison year stated in [lo, hi): 'since 2019', 'than in 2019', '2019 levels'; the
    one nearest the quantity wins."""
    found = []
    for m in _BASE_PREP.finditer(text):
        if not (lo <= m.start() < hi):
            continue
        y = next(g for g in m.groups() if g)
        found.append((abs(m.start() - q.end), int(y)))
    return min(found)[1] if found else None


def _years(ctx: DocContext, sent: Sentence, clause: list[Token], status: str,
           q: Quantity) -> tuple[int | None, int | None]:
    """(year, base_year) of a change: years stated in the quantity's clause first, then in the
    sentence, then (reported changes) the document's reporting year."""
    text = sent.text
    lo, hi = _clause_range(clause, q)
    base = _base_year(text, lo, hi, q)
    if base is None:
        base = _base_year(text, 0, len(text), q)
    years = [y for y in find_years(text, ctx.published) if y.kind != "prior" and y.year != base]
    fiscal = fiscal_year_end(text)
    year: int | None = None
    if status in ("target", "forecast"):
        after = [int(x.group(1)) for x in _BY_YEAR.finditer(text, q.end)
                 if x.group(0).lower().startswith(("by", "before", "until", "through")) and int(x.group(1)) != base]
        if status == "target" and after:
            year = after[0]
        elif years:
            year = min(years, key=lambda y: (not lo <= y.start < hi, abs(y.start - q.end))).year
        if status == "forecast" and base is None and year is not None and q.unit == "%" and \
                ctx.published and year <= ctx.published.year + 1:
            base = year - 1  # 'could rise 5% this year'
        return year, base
    if ctx.published is not None:
        # a reported change is not in the future: 'which aims for net zero by 2050, said ... rose 3%'
        pub_year = ctx.published.year
        years = [y for y in years if y.year is not None and y.year <= pub_year]
    if fiscal:
        year = fiscal[0][2]  # 'the year ended March 2025'
    elif years:
        year = min(years, key=lambda y: (not lo <= y.start < hi, abs(y.start - q.start))).year
    elif ctx.published:
        year = _doc_year(ctx, sent)
    if base is None and year is not None:
        base = year - 1
    if base is not None and year is not None and base >= year:
        base = None if base > year else year - 1
    return year, base


def _doc_year(ctx: DocContext, sent: Sentence) -> int | None:
    """The reporting year when a sentence states none: the nearest year in the preceding
    sentences of the body, else the year before publication."""
    for prev in reversed(ctx.sentences[:sent.index]):
        bases = {int(next(g for g in m.groups() if g)) for m in _BASE_PREP.finditer(prev.text)}
        ys = [y.year for y in find_years(prev.text, ctx.published)
              if y.year and y.kind in ("year", "fiscal", "last") and y.year not in bases]
        if ys and ctx.published and max(ys) <= ctx.published.year:
            return max(ys)
    return ctx.last_year


def _company(ctx: DocContext, sent: Sentence, mtok: Token, subj: Token | None, verb: Token,
             clause: list[Token]) -> str | None:
    # possessor of the metric noun or of its head NP
    for t in [mtok, *[a for a in mtok.ancestors if a.pos_ in ("NOUN", "PROPN")][:2]]:
        for c in t.children:
            if c.dep_ == "poss":
                if c.lower_ == "their":
                    return None  # a group: 'their electricity use'
                span = list(c.subtree)
                s, e = span[0].idx, span[-1].idx + len(span[-1].text)
                name = sent.company_of(s, e)
                inner = next((x for x in c.children if x.dep_ == "poss"), None)
                if name is None and inner is not None:  # 'its fleet's emissions'
                    name = sent.company_of(inner.idx, inner.idx + len(inner.text))
                if name:
                    return name
                if _noncompany(c):
                    return None
    # 'emissions at Google', 'emissions of Amazon'; 'emissions from India's steel industry' -> None
    head = mtok
    while head.dep_ == "compound" and head.head.i != head.i:
        head = head.head  # 'carbon dioxide emissions from ...': the phrase's head noun
    for c in [*mtok.children, *(head.children if head is not mtok else [])]:
        if c.dep_ == "prep" and c.lower_ in ("at", "of", "from", "by", "in"):
            for p in c.children:
                if p.dep_ == "pobj":
                    name = sent.company_of(p.idx, p.idx + len(p.text))
                    if name:
                        return name
                    if any(_noncompany(x) for x in p.subtree):
                        return None
    # compound: 'Google emissions'
    for c in mtok.children:
        if c.dep_ == "compound" and c.pos_ == "PROPN":
            name = sent.company_of(c.idx, c.idx + len(c.text))
            if name:
                return name
    if subj is not None:
        span = list(subj.subtree)
        s, e = span[0].idx, span[-1].idx + len(span[-1].text)
        name = sent.company_of(s, e)
        if name:
            return name
        if _noncompany(subj):
            return None
    # subjects of the verbs above ('Google said its ...')
    for a in verb.ancestors:
        for c in a.children:
            if c.dep_ in ("nsubj", "nsubjpass"):
                if c.pos_ != "PRON":
                    # a named company first (NER may call 'Newmont' a place), then non-companies
                    own = sent.company_of(c.idx, c.idx + len(c.text))
                    if own:
                        return own
                if _noncompany(c):
                    return None  # 'Georgia's largest utility told regulators it expects ...'
                if c.pos_ == "PRON" and any(x.dep_ in ("nsubj", "nsubjpass") and x.i < c.i and _noncompany(x)
                                            for x in c.doc):
                    return None
                span = list(c.subtree)
                name = sent.company_of(span[0].idx, span[-1].idx + len(span[-1].text))
                if name:
                    return name
    if sent.mentions:
        return sent.mentions[0].name
    if sent.is_title or _sentence_noncompany(sent):
        return None  # a title names its company; a country's or sector's change has none
    return ctx.subject


def _noncompany(t: Token) -> bool:
    """A country, region, sector or group: the token or its possessor/compounds."""
    if t.lemma_.lower() in ANAPHOR_NOUNS and not any(c.dep_ == "poss" and c.ent_type_ in ("GPE", "LOC")
                                                     for c in t.children):
        return False  # 'the Swiss group', 'the British lender' describe a company
    if in_descriptor(t):
        return False  # 'The Charlotte, North Carolina-based utility': a place describing a company
    if t.dep_ == "appos" and t.lemma_.lower() in ANAPHOR_NOUNS:
        return False  # 'InterGlobe Aviation, India's largest airline, said ...' describes the name before it
    near = [t, *[c for c in t.children if c.dep_ in ("poss", "compound", "amod") and not in_descriptor(c)]]
    return any(x.ent_type_ in ("GPE", "NORP", "LOC") or x.lemma_.lower() in _NONCOMPANY_SUBJ for x in near)


def _sentence_noncompany(sent: Sentence) -> bool:
    doc = sent.doc
    if doc is None:
        return False
    return any(t.dep_ in ("nsubj", "nsubjpass") and _noncompany(t) for t in doc)
