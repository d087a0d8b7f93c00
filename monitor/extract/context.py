"""The document context shared by every fact finder (emissions, investments, targets).

A :class:`DocContext` is built once per article by :class:`monitor.extract.Extractor` and holds:

``ctx.text`` / ``ctx.title`` / ``ctx.published``
    the inputs (``published`` is a ``datetime.date`` or None).
``ctx.sentences: list[Sentence]``
    the title (if any) first, then the body sentences in order. Sentences are split with a cheap
    rule-based splitter (paragraphs on blank lines / newlines, then sentence punctuation).
``ctx.candidates``
    the sentences that passed the pre-filter (``Sentence.candidate``); only these are parsed.
``ctx.subject: str | None``
    the article's subject company: the first company named in the title, else the company named
    most often in the first paragraph / body (gazetteer first, NER ORG as fallback).
``ctx.company_of(sent, start, end) -> str | None``
    the canonical company a character range of ``sent.text`` refers to: a gazetteer mention or a
    plausible NER ORG overlapping it, or an anaphor ('it', 'its', 'the company', 'the retailer',
    'the tech giant', 'the Atlanta-based carrier') resolved to the subject. ``sent.company_of``
    is the same, bound to the sentence (its signature is ``(start, end)``).
``ctx.anaphor_company(sent, pos) -> str | None``
    what an anaphor at character ``pos`` of ``sent.text`` refers to.
Year helpers (methods): ``ctx.last_year``, ``ctx.this_year`` (from ``published``),
    ``ctx.year_of(expr) -> int | None`` for 'last year', 'this year', 'next year', '2023',
    'FY2024', 'fiscal 2024', 'FY24', 'the year to March 2024'; module function
    :func:`find_years` lists year expressions in a text with offsets.

``Sentence`` fields: ``text``, ``start``/``end`` (character offsets into ``ctx.text``; **title
convention: the title is sentence 0 with ``is_title=True`` and start = end = -1**, and evidence
for a title fact is ``Evidence(title, -1, -1)``), ``index``, ``paragraph`` (-1 for the title),
``candidate`` (passed the pre-filter), ``doc`` (the parsed spaCy ``Doc`` of this sentence alone,
or None when it was not parsed), ``span`` (``doc[:]``; token ``.idx`` are offsets into
``sent.text``), ``mentions`` (list of :class:`Mention`, offsets into ``sent.text``).
A fact's evidence offsets are ``sent.start + token.idx`` etc.; use
:meth:`Sentence.evidence` to build it.

Pure: no I/O. The spaCy pipeline and the gazetteer are passed in by the Extractor.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.types import Evidence

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["DocContext", "Sentence", "Mention", "split_sentences", "find_years", "fiscal_year_end",
           "ANAPHOR_NOUNS", "speaker_patterns", "speaker_mentions", "in_descriptor", "pattern_mentions",
           "headline_subject", "fits_sector"]

# Generic nouns that, after 'the' (optionally with adjectives), refer back to the subject company.
ANAPHOR_NOUNS = {
    "company", "group", "firm", "business", "maker", "giant", "carmaker", "automaker", "chipmaker",
    "retailer", "grocer", "supermarket", "operator", "conglomerate", "producer", "major", "carrier",
    "airline", "bank", "lender", "insurer", "miner", "steelmaker", "manufacturer", "developer",
    "platform", "parent", "owner", "utility", "supplier", "brand", "multinational", "corporation",
    "processor", "shipper", "shipping", "line", "marketplace", "automotive",
    "semiconductor", "cement", "driller", "refiner", "chain", "outfit", "titan", "behemoth", "transporter",
    "logistics", "tech", "e-commerce", "startup", "network",
    "drugmaker", "co-operative", "cooperative", "brewer", "trader", "telecoms", "telco", "jeweller", "exporter",
    "shipowner", "smelter", "chemicals", "pharmaceutical", "reinsurer",
}
_ANAPHOR_PRONOUNS = {"it", "its", "it's", "itself", "we", "our", "us"}
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Inc|Corp|Co|Ltd|No|vs|etc|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|"
    r"Sept|Oct|Nov|Dec|Gov|Sen|Rep|Jr|Sr|Bros|Mt|Ft)|\b[A-Z]|\b(?:[A-Za-z]\.){1,3}[A-Za-z]|e\.g|i\.e)\.$")
_BOUNDARY = re.compile(r"[.!?][\"'’”)\]]*\s+(?=[\"'‘“(\[]?[A-Z0-9£$€])")


@dataclass(slots=True)
class Mention:
    """A company in a sentence: character offsets into ``Sentence.text``, canonical name, origin."""

    start: int
    end: int
    name: str
    surface: str
    kind: str = "gazetteer"  # gazetteer | ner


@dataclass(slots=True)
class Sentence:
    """One sentence (or the title) of a document; see the module docstring."""

    text: str
    start: int
    end: int
    index: int
    paragraph: int
    is_title: bool = False
    candidate: bool = False
    doc: Doc | None = None
    mentions: list[Mention] = field(default_factory=list)
    ctx: DocContext | None = field(default=None, repr=False)

    @property
    def span(self) -> Span:
        """The whole parsed sentence as a spaCy Span (raises when the sentence was not parsed)."""
        if self.doc is None:
            raise ValueError(f"sentence {self.index} was not parsed (not a candidate)")
        return self.doc[:]

    def company_of(self, start: int, end: int) -> str | None:
        """The company a character range of this sentence refers to (see DocContext.company_of)."""
        return self.ctx.company_of(self, start, end) if self.ctx else None

    def evidence(self, confidence: float) -> Evidence:
        """Evidence for a fact found in this sentence (title: offsets -1/-1)."""
        return Evidence(self.text, self.start, self.end, max(0.0, min(1.0, confidence)))


def split_sentences(text: str) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) character ranges of the sentences of ``text``.

    Paragraphs break on newlines; sentences on ., ! or ? followed by space and a capital, a digit
    or an opening quote, except after common abbreviations and initials.
    """
    out: list[tuple[int, int, int]] = []
    para = 0
    for pm in re.finditer(r"[^\n]+", text):
        chunk, base = pm.group(), pm.start()
        if not chunk.strip():
            continue
        pos = 0
        for bm in _BOUNDARY.finditer(chunk):
            cut = bm.start() + 1
            while cut < len(chunk) and chunk[cut] in "\"'’”)]":
                cut += 1
            if _ABBREV.search(chunk[pos:bm.start() + 1]):
                continue
            _add_range(out, chunk, base, pos, cut, para)
            pos = bm.end()
        _add_range(out, chunk, base, pos, len(chunk), para)
        para += 1
    return out


def _add_range(out: list[tuple[int, int, int]], chunk: str, base: int, lo: int, hi: int, para: int) -> None:
    piece = chunk[lo:hi]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        out.append((base + lo + lead, base + lo + lead + len(stripped), para))


# --- years ---------------------------------------------------------------------------------------

_YEAR_EXPR = re.compile(
    r"\b(?:(?P<fy>FY|fiscal(?: year)?|financial year)\s*'?(?P<fyy>(?:19|20)\d\d|\d\d)(?:/(?:\d\d){1,2})?"
    r"|(?P<y>(?:19|20)\d\d)(?:[-/–](?P<y2>\d{2,4}))?"
    r"|(?P<rel>last year|this year|next year|a year earlier|a year ago|the previous year|the prior year|"
    r"the year before|year[- ]on[- ]year|year[- ]over[- ]year|from a year earlier|the past year))\b",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class YearExpr:
    """A year expression in a text: offsets, the year it denotes (or None), its kind."""

    start: int
    end: int
    year: int | None
    kind: str  # 'year' | 'fiscal' | 'last' | 'this' | 'next' | 'prior' (a year earlier, yoy)
    text: str


def find_years(text: str, published: date | None = None) -> list[YearExpr]:
    """Year expressions in ``text``: 2023, 2023-24 (the ending year), FY2024/FY24/fiscal 2024,
    'last year'/'this year'/'next year' (resolved from ``published``), and 'a year earlier' /
    'year on year' (kind 'prior', year None: the comparison base)."""
    out: list[YearExpr] = []
    py = published.year if published else None
    for m in _YEAR_EXPR.finditer(text):
        if m.group("fy"):
            y = int(m.group("fyy"))
            out.append(YearExpr(m.start(), m.end(), y if y > 1900 else 2000 + y, "fiscal", m.group()))
        elif m.group("y"):
            y = int(m.group("y"))
            y2 = m.group("y2")
            if y2 and (len(y2) == 2 and int(y2) == (y + 1) % 100 or len(y2) == 4 and int(y2) == y + 1):
                out.append(YearExpr(m.start(), m.end(), y + 1, "fiscal", m.group()))
            else:
                out.append(YearExpr(m.start("y"), m.end("y"), y, "year", m.group("y")))
        else:
            rel = m.group("rel").lower()
            if rel == "last year":
                out.append(YearExpr(m.start(), m.end(), py - 1 if py else None, "last", m.group()))
            elif rel == "this year":
                out.append(YearExpr(m.start(), m.end(), py, "this", m.group()))
            elif rel == "next year":
                out.append(YearExpr(m.start(), m.end(), py + 1 if py else None, "next", m.group()))
            else:
                out.append(YearExpr(m.start(), m.end(), None, "prior", m.group()))
    return out


_FY_END = re.compile(r"(?:fiscal )?year (?:to|ended|ending|through) (?:the end of )?(?:\w+ )?"
                     r"(January|February|March|April|May|June|July|August|September|October|November)"
                     r"(?: \d{1,2},?)? ((?:19|20)\d\d)", re.IGNORECASE)


def fiscal_year_end(text: str) -> list[tuple[int, int, int]]:
    """(start, end, year) of 'the year to March 2024' style phrases: the fiscal year's ending year."""
    return [(m.start(), m.end(), int(m.group(2))) for m in _FY_END.finditer(text)]


# --- the context -----------------------------------------------------------------------------------

_DEF_NP = re.compile(r"\b(?:the|The)((?:\s+[\w'’\-]+){{1,4}}?)\s+({})\b".format("|".join(
    sorted((re.escape(n) for n in ANAPHOR_NOUNS), key=len, reverse=True))))
_PRONOUN = re.compile(r"\b(?:it|its|It|Its|itself)\b")


class DocContext:
    """One article prepared for fact finding; see the module docstring for the API."""

    def __init__(self, text: str, title: str | None, published: date | None,
                 sentences: list[Sentence], subject: str | None,
                 canonical: Callable[[str], str | None] | None = None) -> None:
        self.text = text
        self.title = title
        self.published = published
        self.sentences = sentences
        self.subject = subject
        self._canonical = canonical
        self.subject_sector: str | None = None  # the gazetteer's sector of the subject, when known
        for s in sentences:
            s.ctx = self

    # -- views ----------------------------------------------------------------------------------
    @property
    def candidates(self) -> list[Sentence]:
        """Sentences that passed the pre-filter and were parsed."""
        return [s for s in self.sentences if s.candidate and s.doc is not None]

    @property
    def title_sentence(self) -> Sentence | None:
        """The title as a Sentence, or None."""
        return self.sentences[0] if self.sentences and self.sentences[0].is_title else None

    @property
    def body(self) -> list[Sentence]:
        """The body sentences (no title)."""
        return [s for s in self.sentences if not s.is_title]

    # -- years ----------------------------------------------------------------------------------
    @property
    def this_year(self) -> int | None:
        """The published year."""
        return self.published.year if self.published else None

    @property
    def last_year(self) -> int | None:
        """The year before the published year."""
        return self.published.year - 1 if self.published else None

    def year_of(self, expr: str) -> int | None:
        """The year an expression denotes ('last year', '2023', 'FY24', 'fiscal 2024'), else None."""
        found = find_years(expr, self.published)
        return found[0].year if found else None

    # -- companies ------------------------------------------------------------------------------
    def company_of(self, sent: Sentence, start: int, end: int) -> str | None:
        """Canonical company for the character range [start, end) of ``sent.text``: a company
        mention overlapping it, else an anaphor in it resolved to the subject, else None."""
        for m in sent.mentions:
            if m.start < end and start < m.end:
                return m.name
        piece = sent.text[start:end]
        if _PRONOUN.fullmatch(piece.strip()) or _DEF_NP.search(piece) or _is_anaphor_np(piece):
            return self.anaphor_company(sent, start)
        return None

    def anaphor_company(self, sent: Sentence, pos: int) -> str | None:
        """The company an anaphor at ``pos`` refers to.

        'it'/'its': the last company before it in the same sentence that acts there (a subject,
        not the object of a preposition or a verb, nor inside a relative clause that does not
        hold the pronoun: 'It won a contract for Hongkong Post and said it ...' is not Hongkong
        Post); a sentence-opening 'It' with no such company takes the company that opens the
        previous sentence ('Carlsberg said ... It has pledged ...'); else the article's subject.
        'the company'-style phrases: the subject; without a subject, the last company named before.
        """
        word = sent.text[pos:pos + 8].lower()
        if re.match(r"its?\b|itself\b", word):
            before = [m for m in sent.mentions if m.end <= pos]
            if sent.doc is not None:
                before = [m for m in before if _acts_in(sent, m, pos)]
            if before:
                return before[-1].name
            opener = self._previous_opener(sent) if not sent.text[:pos].strip(" \"'‘“") else None
            if opener:
                return opener
        if self.subject:
            return self.subject
        before = [m for m in sent.mentions if m.end <= pos]
        if before:
            return before[-1].name
        for prev in reversed(self.sentences[:sent.index]):
            if prev.mentions:
                return prev.mentions[-1].name
        return None

    def _previous_opener(self, sent: Sentence) -> str | None:
        """The company that opens the sentence before ``sent`` in the same paragraph (within its
        first few words, as its subject usually is: 'Danish rival Carlsberg said ...')."""
        if sent.is_title or sent.index <= 0:
            return None
        prev = self.sentences[sent.index - 1]
        if prev.is_title or prev.paragraph != sent.paragraph or not prev.mentions:
            return None
        m = prev.mentions[0]
        lead = prev.text[:m.start]
        if len(lead.split()) > 3 or re.search(r"[,;:]|\b(?:said|says|for|with|to|from|by|of|in|at|on)\b", lead, re.I):
            return None
        return m.name

    def mentions_before(self, sent: Sentence) -> list[str]:
        """Companies named in the sentences before ``sent`` (body order), most recent last."""
        out: list[str] = []
        for prev in self.sentences[:sent.index]:
            out.extend(m.name for m in prev.mentions)
        return out


def in_descriptor(t: Any) -> bool:
    """Whether ``t`` is part of a '<place>-based' / '-headquartered' / '-listed' descriptor."""
    doc = t.doc
    for k in range(t.i + 1, min(len(doc), t.i + 7)):
        w = doc[k]
        if w.lower_ in ("based", "headquartered", "listed", "registered") and doc[k - 1].text in ("-", "‐", "–"):
            return True
        if w.pos_ in ("VERB", "AUX") or w.text in (";", ".") or w.lower_ in ("said", "says"):
            return False
    return False


# 'the <noun>' words that name an industry, and words of the gazetteer's sector names that fit them
_SECTOR_NOUNS: dict[str, tuple[str, ...]] = {
    "utility": ("utilit", "power", "electric", "energy", "gas", "water"),
    "airline": ("airline", "aviation", "air"), "carrier": ("airline", "aviation", "air", "shipping", "telecom"),
    "carmaker": ("auto", "car", "vehicle", "motor"), "automaker": ("auto", "car", "vehicle", "motor"),
    "miner": ("mining", "metal", "minerals", "coal", "gold", "copper", "iron"),
    "bank": ("bank", "financ"), "lender": ("bank", "financ"), "insurer": ("insur", "financ"),
    "retailer": ("retail", "grocer", "consumer", "fashion", "apparel", "e-commerce"),
    "grocer": ("retail", "grocer", "food"), "supermarket": ("retail", "grocer", "food"),
    "steelmaker": ("steel", "metal"), "chipmaker": ("semiconductor", "chip"), "brewer": ("beverage", "brew", "drink"),
    "drugmaker": ("pharma", "health", "biotech"), "refiner": ("oil", "refin", "energy", "petro"),
    "driller": ("oil", "gas", "drill", "energy"),
}


def fits_sector(noun: str, sector: str | None) -> bool:
    """False when ``noun`` names an industry that ``sector`` (free text, may be None) is not."""
    keys = _SECTOR_NOUNS.get(noun.lower())
    if not keys or not sector:
        return True
    return any(k in sector.lower() for k in keys)


def _acts_in(sent: Sentence, m: Mention, pos: int) -> bool:
    """Whether the company mention ``m`` can be what a later 'it'/'its' at ``pos`` refers to: not the
    object of a preposition or verb, not inside a relative or parenthetical clause that ends
    before the pronoun."""
    doc = sent.doc
    if doc is None:
        return True
    toks = [t for t in doc if m.start <= t.idx < m.end]
    if not toks:
        return True
    ids = {t.i for t in toks}
    root = next((t for t in toks if t.head.i not in ids or t.head.i == t.i), toks[0])
    while root.dep_ in ("compound", "appos", "flat", "nmod", "amod", "conj") and root.head.i != root.i:
        if root.dep_ == "appos" and root.head.ent_type_ in ("GPE", "LOC"):
            break  # 'In neighbouring Poland, PGE, ... said its': parsed as an apposition to the place
        root = root.head
    if root.dep_ in ("pobj", "dobj", "dative", "iobj", "oprd"):
        return False
    for a in root.ancestors:
        if a.dep_ in ("relcl", "acl", "parataxis", "appos") and not any(
                t.idx <= pos < t.idx + len(t.text) for t in a.subtree):
            return False
    return True


def _is_anaphor_np(piece: str) -> bool:
    piece = re.sub(r"(?:['’β]s|['’])(?=\W|$)", "", piece)
    words = re.findall(r"[\w\-]+", piece.lower())
    return bool(words) and words[0] == "the" and words[-1] in ANAPHOR_NOUNS


def choose_subject(title_mentions: Sequence[Mention], body: Sequence[Sentence]) -> str | None:
    """The article's subject: the first company in the title, else the most named company in the
    body (ties: the earliest)."""
    if title_mentions:
        return title_mentions[0].name
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for s in body:
        for m in s.mentions:
            counts[m.name] += 1
            first.setdefault(m.name, s.index * 10000 + m.start)
    if not counts:
        return None
    # a news lead names its subject first: the company opening the first sentence weighs two mentions more
    lead = next((s for s in body if s.mentions), None)
    if lead is not None and lead is body[0] and lead.mentions[0].start < 40:
        counts[lead.mentions[0].name] += 2
    return max(counts, key=lambda n: (counts[n], -first[n]))


def ner_mentions(doc: Any, taken: Iterable[Mention], plausible: Callable[[str], bool],
                 canonical: Callable[[str], str | None]) -> list[Mention]:
    """Plausible NER ORG entities of a parsed sentence not already covered by ``taken``."""
    spans = [(m.start, m.end) for m in taken]
    out = []
    for ent in doc.ents:
        if ent.label_ != "ORG":
            continue
        first = ent.start
        while first > 0 and doc[first - 1].pos_ == "PROPN" and doc[first - 1].text[:1].isupper() \
                and doc[first - 1].text not in _STOP_FIRST and doc[first - 1].ent_type_ not in ("GPE", "NORP", "LOC") \
                and doc[first - 1].text.isalpha():
            first -= 1  # 'Dalmia Bharat' when NER saw only 'Bharat'
        if first != ent.start:
            ent = doc[first:ent.end]
        s, e = ent.start_char, ent.end_char
        if any(a < e and s < b for a, b in spans):
            continue
        name = _clean_org(ent.text)
        if len(name) < 3 or not plausible(name) or name.isupper() and len(name) <= 3 and not canonical(name):
            continue
        if _PERIOD_NAME.match(name):
            continue  # 'FY27', 'H1 2024', 'Q3
        if not canonical(name) and _headline_fragment(ent):
            continue
        out.append(Mention(s, e, canonical(name) or name, ent.text, "ner"))
    return out


def speaker_patterns(roles: Sequence[str], links: Sequence[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for the text just before and just after a company mention that make the company a
    speaker's employer: '... analysts at |X|', '|X| analysts', '|X|'s chief economist', 'a |X| analyst'."""
    role = "(?:" + "|".join(re.escape(r) for r in roles) + ")s?"
    link = "(?:" + "|".join(re.escape(w) for w in links) + ")"
    before = re.compile(rf"\b{role}\s+{link}\s+(?:the\s+)?$", re.IGNORECASE)
    after = re.compile(rf"^(?:['’]s)?(?:\s+(?:chief|senior|lead|head|equity|research|credit|energy|oil|"
                       rf"climate|sustainability|industry|market|[a-z]+-based))?\s+{role}\b", re.IGNORECASE)
    return before, after


def speaker_mentions(text: str, mentions: Sequence[Mention],
                     patterns: tuple[re.Pattern[str], re.Pattern[str]]) -> list[Mention]:
    """The mentions of ``text`` that name a speaker's employer (see :func:`speaker_patterns`)."""
    before, after = patterns
    return [m for m in mentions
            if before.search(text[max(0, m.start - 40):m.start]) or after.match(text[m.end:m.end + 40])]


_COMMON_OWNERS = ANAPHOR_NOUNS | {"world", "country", "nation", "industry", "sector", "city", "state", "region",
                                  "government", "europe", "asia", "africa", "america", "planet", "aviation", "shipping",
                                  "steel", "cement", "power", "oil", "gas", "coal", "tech", "fashion", "food", "farm"}
_PERIOD_NAME = re.compile(r"^(?:FY|H[12]|Q[1-4]|CY)\s?['’]?\d{0,4}(?:\s+\d{2,4})?$")
# a company opening a headline: 'Johnson Matthey to invest £200m in hydrogen components'
_HEADLINE_SUBJECT = re.compile(
    r"^((?:[A-Z][\w&'’.-]*)(?:\s+(?:[A-Z][\w&'’.-]*|&)){0,3})\s+(?:to\s+(?:invest|spend|cut|buy|build|acquire)|"
    r"says|cuts|posts|plans|sets|pledges|reports|raises|lifts|agrees|commits|invests|spends|warns|misses|trims|"
    r"boosts|unveils|targets|aims|vows|slashes|doubles|halves|lowers|reduces)\b")
_NAME_WORD = r"(?:[A-Z][\w&'’.-]*|[A-Z]{2,}|&|of|de|du|and)"
_STOP_FIRST = {"The", "A", "An", "In", "On", "At", "By", "For", "As", "But", "And", "If", "While", "After", "Its",
               "Their", "Our", "This", "That", "These", "Those", "Analysts", "Shares", "Scope", "CO2", "Chief",
               "Executive"}


def pattern_mentions(doc: Any, text: str, taken: Sequence[Mention], plausible: Callable[[str], bool],
                     suffixes: frozenset[str], measures: frozenset[str]) -> list[Mention]:
    """Companies the gazetteer and NER miss, found by form in a parsed sentence: a run of capitalised
    words ending in a corporate word ('Whitehaven Coal', 'ZIM Integrated Shipping Services'), or a
    capitalised name owning a measured quantity ('Celltrion's energy consumption'). Places, people
    and organisations NER is sure of, and known non-companies, are left out."""
    spans = [(m.start, m.end) for m in taken]
    sure_not = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in ("GPE", "LOC", "NORP", "FAC")]
    out: list[Mention] = []
    for m in re.finditer(rf"\b[A-Z][\w&'’.-]*(?:\s+{_NAME_WORD})*", text):
        words = re.sub(r"['’]s$", "", m.group()).split()
        while words and words[0] in _STOP_FIRST:
            words = words[1:]
        while words and words[-1] in ("of", "de", "du", "and", "&"):
            words = words[:-1]
        if not words:
            continue
        name = " ".join(words)
        start = m.start() + m.group().index(words[0])
        end = start + len(name)
        after = text[end:end + 60]
        owner = re.match(r"['’]s\s+(?:[\w-]+\s+){0,3}?([\w-]+)", after)
        by_suffix = len(words) >= 2 and words[-1] in suffixes
        by_owner = owner is not None and owner.group(1).lower() in measures and len(words) <= 3 \
            and not (len(words) == 1 and words[0].lower() in _COMMON_OWNERS)  # 'Utility's carbon goals'
        # 'Ryohin Keikaku, the company behind the Muji chain', 'PGE, the country's largest power producer'
        appos = re.match(r",\s+(?:the|a|an|its|their)\s+(?:[\w'’-]+\s+){0,4}?([\w-]+)\b(?!['’])", after)
        by_appos = appos is not None and appos.group(1).lower() in ANAPHOR_NOUNS | {"operator", "owner", "maker"} \
            and len(words) <= 4
        if not (by_suffix or by_owner or by_appos):
            continue
        if words[0] in _STOP_FIRST or words[0].lower() in ("chief", "mr", "ms", "dr"):
            continue
        if any(a < end and start < b for a, b in spans + sure_not):  # known already, or a place
            continue
        if not plausible(name) or name.isupper() and len(name) <= 3 or _PERIOD_NAME.match(name):
            continue
        out.append(Mention(start, end, name, text[start:end], "pattern"))
    return out


def headline_subject(doc: Any, title: str, taken: Sequence[Mention], plausible: Callable[[str], bool],
                     body: str = "") -> list[Mention]:
    """The company that opens a headline when nothing else names it ('Johnson Matthey to invest ...').
    A name NER takes for a person counts only when the body speaks of 'the company' (or the group,
    the miner ...) and not of a person ('he', 'she')."""
    m = _HEADLINE_SUBJECT.match(title)
    if m is None or taken:
        return []
    name = re.sub(r"['’]s$", "", m.group(1))
    if name.split()[0] in _STOP_FIRST or not plausible(name) or _PERIOD_NAME.match(name):
        return []
    if any(e.label_ in ("GPE", "LOC", "NORP") and e.start_char == 0 for e in doc.ents):
        return []
    if any(e.label_ == "PERSON" and e.start_char == 0 for e in doc.ents):
        nouns = "|".join(sorted(ANAPHOR_NOUNS))
        company_talk = re.search(r"\bthe\s+(?:[\w-]+\s+){0,3}?(?:" + nouns + r")\b", body, re.I)
        if not company_talk or re.search(r"\b(?:he|she|his|her)\b", body, re.I):
            return []
    return [Mention(0, len(name), name, title[:len(name)], "pattern")]


def _headline_fragment(ent: Any) -> bool:
    """An ORG span that is really a piece of a title-case headline or a possessive phrase ('AI
    Industry Is Betting', 'Trump's Greenland Threat'): it holds a verb, an auxiliary, a pronoun or
    an inner possessive."""
    toks = list(ent)
    return any(t.pos_ in ("VERB", "AUX", "PRON") or (t.tag_ == "POS" and t.i < toks[-1].i) for t in toks)


def _clean_org(text: str) -> str:
    t = re.sub(r"^(?:the|The)\s+", "", text.strip())
    t = re.sub(r"(?:['’β]s|['’])$", "", t).strip()
    return t
