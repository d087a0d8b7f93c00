"""The company gazetteer: canonical company names, their aliases, former names, brands and tickers.

Data lives in ``models/companies.jsonl`` (one company a line) and ``models/non_companies.txt``
(organisations that are not companies, and phrases that look like a company but are not one); see
``models/README.md``. ``Gazetteer.load()`` reads both once and builds a token trie, so that
``find`` costs one dictionary lookup per token of the text.

Matching rules:

* case-sensitive, word-bounded, longest match first, no overlaps;
* possessives are tolerated and left out of the span ("Amazon's", "Amazon’s", mis-decoded
  "Amazonβs"), legal suffixes are taken into it ("Shell plc", "Apple Inc.");
* names flagged ``ambiguous`` in the data ("Target", "Total", "Next", "Shell", "United") are only
  mentions with context: a legal suffix, a possessive, a company word before or after ("retailer
  Target", "Shell shares"), an NER ORG span from the caller, or an unambiguous mention of the
  same company elsewhere in the text;
* tickers match only in ticker contexts: "(NASDAQ: AMZN)", "NYSE:XOM", "AMZN.O", "ticker AMZN",
  "$AMZN" — never as bare words.

Pure: no I/O after ``load``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.errors import ExtractionError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
COMPANIES_FILE = "companies.jsonl"
NON_COMPANIES_FILE = "non_companies.txt"

__all__ = ["Company", "Gazetteer", "Mention", "MODELS_DIR"]

# Tokens: a word (stopping before a mis-decoded possessive "βs"), the "β" of such a possessive,
# or one punctuation character.
_TOKEN = re.compile(r"[^\W_]+?(?=β(?:s|S)\b)|β(?=[sS]\b)|\w+|[^\w\s]")
_APOSTROPHES: dict[str, str] = {"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "β": "'"}
_APOSTROPHE_TABLE = str.maketrans("".join(_APOSTROPHES), "".join(_APOSTROPHES.values()))
_POSSESSIVE = re.compile(r"(?:['’‘`´ʼβ][sS](?![\w])|(?<=[sS])['’](?![\w]))")
_LEGAL_SUFFIX = re.compile(
    r",?[ \t]+(?:Inc\.?|Incorporated|Corp\.?|Corporation|Co\.|Ltd\.?|Limited|plc|PLC|Plc|AG|SE|SA|"
    r"S\.A\.|NV|N\.V\.|LLC|LP|L\.P\.|ASA|A/S|Oyj|SpA|S\.p\.A\.|GmbH|KGaA|Berhad|Bhd|Tbk|"
    r"Holdings|Group)(?![\w&])"
)
_ABBREVIATED_END = re.compile(r"(?<![\w])(?:Inc|Corp|Ltd|Co|Bros|Cie)$")
_STRIP_SUFFIX = re.compile(
    r"(?:,?\s+(?:Inc|Incorporated|Corp|Corporation|Co|Company|Ltd|Limited|plc|PLC|Plc|AG|SE|SA|"
    r"S\.A|NV|N\.V|LLC|LP|L\.P|ASA|A/S|AB|Oyj|SpA|S\.p\.A|GmbH|KGaA|Berhad|Bhd|Tbk|Holdings|"
    r"Holding|Group)\.?)+$"
)



def _words(text: str) -> list[str]:
    return text.split()


# Context that makes an ambiguous name ("Target", "Shell", "United") a company mention.
_CUES_BEFORE = frozenset(
    _words("""retailer retailers carrier carriers airline airlines major majors company companies firm firms
    group giant giants rival rivals insurer insurers bank banks lender lenders miner miners chipmaker
    automaker automakers carmaker carmakers utility utilities supplier suppliers maker makers producer
    producers operator operators brand brands conglomerate conglomerates supermarket supermarkets
    grocer grocers chain chains driller drillers refiner refiners investor investors manager
    shipper shippers shipping oil gas energy tech technology telecom telecoms stores store""")
)
_CUES_AFTER = frozenset(
    _words("""shares share stock stocks shareholders investors CEO CFO COO chief Chief boss executive executives
    spokesperson spokesman spokeswoman chairman chairwoman chair board Board employees staff said says
    announced reported disclosed pledged invested stores flights planes jets aircraft refinery refineries
    plants factories headquarters subsidiary subsidiaries unit division founder founders warehouse
    warehouses workers drivers deliveries delivery customers sellers""")
)
_GEO_AFTER = frozenset(
    _words("""rainforest rainforests basin Basin river River region Region forest forests jungle biome delta
    estuary tributary tributaries deforestation wetlands savanna""")
)
_ARTICLES = frozenset({"a", "an"})
_LIST_JOINER = re.compile(r"(?:['’β]s)?\s*(?:,|,?\s+and|,?\s+or|\s+&|/|\s+vs\.?|\s+versus)\s*")

# Ticker contexts.
_EXCHANGE_ALIASES = {
    "NYSE": "NYSE", "NASDAQ": "NASDAQ", "NASDAQGS": "NASDAQ", "LSE": "LSE", "LON": "LSE",
    "TSX": "TSX", "TSE": "TYO", "TYO": "TYO", "ASX": "ASX", "NSE": "NSE", "BSE": "BSE",
    "HKEX": "HKEX", "HKG": "HKEX", "SEHK": "HKEX", "SIX": "SWX", "SWX": "SWX", "EPA": "EPA",
    "ETR": "ETR", "XETRA": "ETR", "FRA": "ETR", "FWB": "ETR", "BIT": "BIT", "BME": "BME",
    "AMS": "AMS", "EBR": "EBR", "CPH": "CPH", "STO": "STO", "OSL": "OSL", "HEL": "HEL",
    "KRX": "KRX", "KOSPI": "KRX", "TPE": "TPE", "TWSE": "TPE", "SGX": "SGX", "JSE": "JSE",
    "B3": "B3", "BMV": "BMV", "TADAWUL": "TADAWUL", "OTC": "OTC", "OTCQX": "OTC", "SSE": "SSE",
    "SZSE": "SZSE", "IDX": "IDX", "SET": "SET", "KLSE": "KLSE", "PSE": "PSE", "NZX": "NZX",
    "MCX": "MCX", "MOEX": "MCX", "WSE": "WSE", "VIE": "VIE", "ELI": "ELI", "ISE": "ISE",
    "BIST": "BIST", "ADX": "ADX", "QSE": "QSE", "SNSE": "SNSE", "HOSE": "HOSE",
}
_RIC_SUFFIXES = {
    "O": "NASDAQ", "OQ": "NASDAQ", "N": "NYSE", "L": "LSE", "PA": "EPA", "DE": "ETR", "F": "ETR",
    "AS": "AMS", "BR": "EBR", "MI": "BIT", "MC": "BME", "S": "SWX", "SW": "SWX", "ST": "STO",
    "OL": "OSL", "HE": "HEL", "CO": "CPH", "VI": "VIE", "T": "TYO", "HK": "HKEX", "SS": "SSE",
    "SZ": "SZSE", "NS": "NSE", "BO": "BSE", "KS": "KRX", "AX": "ASX", "TO": "TSX", "SA": "B3",
    "MX": "BMV", "SI": "SGX", "TW": "TPE", "JK": "IDX", "BK": "SET", "KL": "KLSE", "SR": "TADAWUL",
    "J": "JSE", "LS": "ELI", "WA": "WSE", "IS": "BIST", "NZ": "NZX", "MM": "MCX", "I": "ISE",
}
_SYMBOL = r"[A-Z0-9][A-Z0-9\-]{0,9}(?:\.[A-Z])?(?: [AB](?![\w]))?"
# Each ticker pattern starts with a rare literal so that scanning a text is cheap; what comes
# before that literal is checked with a second, anchored pattern.
_EXCHANGE_COLON = re.compile(r"[:：][ \t]*(?P<sym>" + _SYMBOL + r")(?![\w])")
_EXCHANGE_BEFORE = re.compile(
    r"(?<![\w])(?P<ex>" + "|".join(sorted(_EXCHANGE_ALIASES, key=len, reverse=True))
    + r"|Nasdaq)(?:\s+American)?[ \t]*$"
)
_RIC = re.compile(r"\.(?P<ric>" + "|".join(sorted(_RIC_SUFFIXES, key=len, reverse=True)) + r")(?![\w.])")
_RIC_SYMBOL = re.compile(r"(?<![\w.\-])(?:[A-Z][A-Z0-9]{0,7}(?:-[A-Z])?|\d{3,6})$")
_US_EXCHANGES = frozenset({"NYSE", "NASDAQ", "OTC"})
_TICKER_WORD = re.compile(
    r"(?:[Tt]icker(?:\s+symbol)?|[Ss]ymbol)[:\s]+[\"'“]?\$?(?P<sym>[A-Z][A-Z0-9.]{0,6})(?![\w])"
)
_CASHTAG = re.compile(r"\$(?P<sym>[A-Z]{2,6})(?![\w])")


@dataclass(frozen=True, slots=True)
class Company:
    """One gazetteer entry: the canonical name and every other name that means this company."""

    name: str
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    subsidiaries: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    country: str = ""
    sector: str = ""
    ambiguous: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Company:
        """Build a Company from one line of companies.jsonl."""
        return cls(
            name=obj["name"],
            aliases=tuple(obj.get("aliases", ())),
            former_names=tuple(obj.get("former_names", ())),
            subsidiaries=tuple(obj.get("subsidiaries", ())),
            tickers=tuple(obj.get("tickers", ())),
            country=obj.get("country", ""),
            sector=obj.get("sector", ""),
            ambiguous=frozenset(obj.get("ambiguous", ())),
        )

    def surfaces(self) -> Iterable[tuple[str, str]]:
        """Every (surface, kind) this company is written as, kind in name/alias/former_name/subsidiary."""
        yield self.name, "name"
        for kind, names in (("alias", self.aliases), ("former_name", self.former_names),
                            ("subsidiary", self.subsidiaries)):
            for surface in names:
                yield surface, kind


@dataclass(frozen=True, slots=True)
class Mention:
    """A company named in a text: character span (possessive excluded), surface text, canonical name.

    ``kind`` says how it matched (name, alias, former_name, subsidiary, ticker); ``ambiguous`` is
    True when the surface needed context to count.
    """

    start: int
    end: int
    surface: str
    canonical: str
    kind: str = "name"
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    canonical: str | None  # None for a blocking phrase
    kind: str
    ambiguous: bool
    geo: bool


@dataclass(slots=True)
class _Token:
    text: str  # normalised key text (apostrophes folded)
    raw: str
    start: int
    end: int
    spaced: bool  # whitespace before this token


@dataclass(slots=True)
class _NonCompanies:
    names: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    phrases: list[str] = field(default_factory=list)
    geo: set[str] = field(default_factory=set)


def _tokens(text: str) -> list[_Token]:
    """Split text into word and punctuation tokens, remembering offsets and preceding whitespace."""
    out: list[_Token] = []
    prev_end = 0
    for m in _TOKEN.finditer(text):
        raw = m.group()
        key = _APOSTROPHES.get(raw, raw)
        out.append(_Token(key, raw, m.start(), m.end(), m.start() > prev_end))
        prev_end = m.end()
    return out


def _keys(surface: str) -> list[str]:
    """Trie keys of a surface: each token, prefixed with a space when whitespace precedes it."""
    toks = _tokens(surface)
    return [t.text if i == 0 or not t.spaced else " " + t.text for i, t in enumerate(toks)]


def _fold(text: str) -> str:
    """Lower-case, accent-free, apostrophe-normalised form for case-insensitive lookups."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHE_TABLE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip().lower()


def _strip_name(surface: str) -> str:
    """Drop surrounding quotes and punctuation, a leading 'the', a possessive and trailing dots."""
    s = surface.strip().strip("\"“”‘'’«»()[],;:").strip()
    s = re.sub(r"^(?:the|The|THE)\s+", "", s)
    s = re.sub(r"(?:['’‘`´ʼβ][sS]|(?<=[sS])['’])$", "", s).strip()
    return s.rstrip(",;:").strip()


def _read_non_companies(path: Path) -> _NonCompanies:
    data = _NonCompanies()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ExtractionError(f"cannot read {path}: {exc}") from exc
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        prefix, sep, rest = line.partition(":")
        if sep and prefix in {"word", "phrase", "geo"} and rest.startswith(" "):
            value = rest.strip()
            if prefix == "word":
                data.words.add(value.lower())
            elif prefix == "phrase":
                data.phrases.append(value)
            else:
                data.geo.add(value)
        else:
            data.names.add(line)
    return data


def _read_companies(path: Path) -> list[Company]:
    companies: list[Company] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    companies.append(Company.from_json(json.loads(line)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ExtractionError(f"{path}:{number}: bad gazetteer line: {exc}") from exc
    except OSError as exc:
        raise ExtractionError(f"cannot read {path}: {exc}") from exc
    return companies


class Gazetteer:
    """Company names and the matcher over them. Build with ``Gazetteer.load()``."""

    def __init__(self, companies: Sequence[Company], non_companies: _NonCompanies | None = None) -> None:
        self.companies: dict[str, Company] = {}
        self._trie: dict[str, Any] = {}
        self._exact: dict[str, tuple[str, str]] = {}  # surface -> (canonical, kind)
        self._folded: dict[str, str] = {}  # folded surface -> canonical (multi-word / long names)
        self._ambiguous: set[str] = set()
        self._tickers: dict[str, set[str]] = {}  # SYMBOL -> canonical names
        self._ticker_ex: dict[tuple[str, str], str] = {}  # (EXCHANGE, SYMBOL) -> canonical
        self._non = non_companies or _NonCompanies()
        self._non_folded = {_fold(n) for n in self._non.names}
        for company in companies:
            self._add_company(company)
        for phrase in self._non.phrases:
            self._insert(phrase, _Hit(None, "blocker", False, False))
        self._first = _first_token_regex(k for k in self._trie if k)

    # ----- building -------------------------------------------------------------------------

    @classmethod
    def load(cls, models_dir: Path | None = None) -> Gazetteer:
        """The gazetteer built from ``models_dir`` (default: the repository's ``models/``); cached."""
        return _load_cached(str((models_dir or MODELS_DIR).resolve()))

    def _add_company(self, company: Company) -> None:
        if company.name in self.companies:
            raise ExtractionError(f"gazetteer: duplicate company name {company.name!r}")
        self.companies[company.name] = company
        for surface, kind in company.surfaces():
            ambiguous = surface in company.ambiguous
            if ambiguous:
                self._ambiguous.add(surface)
            self._exact.setdefault(surface, (company.name, kind))
            if " " in surface.strip() or (len(surface) >= 4 and not ambiguous):
                self._folded.setdefault(_fold(surface), company.name)
            self._insert(surface, _Hit(company.name, kind, ambiguous, surface in self._non.geo))
        for ticker in company.tickers:
            exchange, _, symbol = ticker.rpartition(":")
            sym = _norm_symbol(symbol)
            self._tickers.setdefault(sym, set()).add(company.name)
            if exchange:
                self._ticker_ex[(exchange.upper(), sym)] = company.name

    def _insert(self, surface: str, hit: _Hit) -> None:
        keys = _keys(re.sub(r"^The\s+", "", surface))  # 'The Home Depot' is found as 'Home Depot'
        if not keys:
            return
        node = self._trie
        for key in keys:
            node = node.setdefault(key, {})
        node.setdefault("", hit)  # the first company to claim a surface keeps it

    # ----- lookups --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.companies)

    def company(self, name: str) -> Company | None:
        """The entry for any name of a company (canonical, alias, former name, brand), or None."""
        canonical = self.canonical(name)
        return self.companies.get(canonical) if canonical else None

    def canonical(self, surface: str) -> str | None:
        """Canonical company name for a name as found in text (e.g. an NER ORG span), else None.

        Tries the exact text, then without 'the', possessive, punctuation and legal suffixes, then a
        case- and accent-insensitive match for multi-word or longer names.
        """
        if not surface or not surface.strip():
            return None
        candidates = [surface.strip()]
        stripped = _strip_name(surface)
        candidates.append(stripped)
        bare = _STRIP_SUFFIX.sub("", stripped).strip().rstrip(",")
        candidates.append(bare)
        for cand in candidates:
            hit = self._exact.get(cand)
            if hit:
                return hit[0]
        for cand in candidates:
            if " " in cand or any(c.isupper() for c in cand):
                folded = self._folded.get(_fold(cand))
                if folded:
                    return folded
        return None

    def parent_of(self, name: str) -> str | None:
        """The canonical parent of a subsidiary or brand ('YouTube' -> 'Google'); a canonical name
        maps to itself; None when the name is not in the gazetteer."""
        return self.canonical(name)

    def is_ambiguous(self, surface: str) -> bool:
        """True when this name is also an ordinary word or place and needs context ('Target')."""
        s = _strip_name(surface)
        return s in self._ambiguous or surface.strip() in self._ambiguous

    def ticker(self, symbol: str, exchange: str | None = None) -> str | None:
        """Canonical company for a ticker symbol, qualified by exchange when given ('XOM', 'NYSE')."""
        sym = _norm_symbol(symbol)
        if exchange:
            ex = _EXCHANGE_ALIASES.get(exchange.upper(), exchange.upper())
            group = _US_EXCHANGES if ex in _US_EXCHANGES else {ex}
            hits = {self._ticker_ex[(e, sym)] for e in group if (e, sym) in self._ticker_ex}
            return next(iter(hits)) if len(hits) == 1 else None
        names = self._tickers.get(sym, set())
        return next(iter(names)) if len(names) == 1 else None

    # ----- non-companies --------------------------------------------------------------------

    def is_non_company(self, name: str) -> bool:
        """True for organisations that are not companies: agencies, regulators, analysts, rating
        agencies, NGOs, exchanges, indices, news outlets, universities, ministries ... (data in
        ``models/non_companies.txt``)."""
        s = _strip_name(name)
        if not s:
            return True
        for cand in (name.strip(), s):
            if cand in self._non.names or _fold(cand) in self._non_folded:
                return True
        words = {w.lower() for w in re.findall(r"[^\W\d_]+", s)}
        return bool(words & self._non.words)

    def is_plausible_company(self, org: str) -> bool:
        """Whether an NER ORG span could be a company: known companies yes, known non-companies
        (IEA, SBTi, Greenpeace, BloombergNEF, 'the EU', a ministry, a university ...) no; otherwise
        yes unless the span has no capitalised word."""
        if self.canonical(org):
            return True
        if self.is_non_company(org):
            return False
        s = _strip_name(org)
        return any(w[:1].isupper() or w[:1].isdigit() for w in s.split())

    # ----- matching -------------------------------------------------------------------------

    def find(self, text: str, *, org_spans: Iterable[tuple[int, int]] = (),
             require_context: bool = True) -> list[Mention]:
        """Companies named in ``text``, in order: longest non-overlapping matches of names,
        aliases, former names and subsidiaries, plus tickers in ticker contexts.

        ``org_spans`` are character spans of NER ORG entities: an ambiguous name inside one counts.
        With ``require_context=False`` ambiguous names count everywhere.
        """
        raw: list[tuple[Mention, _Hit, int]] = []  # mention, hit, end of the name before any suffix
        pos = 0
        while True:
            cand = self._first.search(text, pos)
            if cand is None:
                break
            found = self._longest(text, cand.start())
            if found is None:
                pos = cand.end()
                continue
            name_end, hit = found
            start = cand.start()
            if hit.canonical is not None and not (hit.geo and _is_geographic(text, start, name_end)):
                end = _extend_suffix(text, name_end)
                raw.append((Mention(start, end, text[start:end], hit.canonical, hit.kind, hit.ambiguous),
                            hit, name_end))
            pos = name_end
        tickers = self._find_tickers(text)
        sure = {m.canonical for m, hit, _ in raw if not hit.ambiguous} | {m.canonical for m in tickers}
        spans = list(org_spans)
        keep = [not hit.ambiguous or not require_context for _, hit, _ in raw]
        changed = True
        while changed:  # list context can chain: 'United, Delta and American shares'
            changed = False
            for k, (mention, _, name_end) in enumerate(raw):
                if not keep[k] and (
                    _overlaps(mention, spans)
                    or _has_context(text, mention.start, name_end, mention.end)
                    or _listed_with_company(text, raw, k, keep)
                ):
                    keep[k] = changed = True
                    sure.add(mention.canonical)
        # a name confirmed once in a text ('Shell's', 'Shell plc') counts everywhere in it
        mentions = [m for k, (m, _, _) in enumerate(raw) if keep[k] or m.canonical in sure]
        if tickers:
            taken = [(m.start, m.end) for m in mentions]
            mentions.extend(t for t in tickers if not any(s < t.end and t.start < e for s, e in taken))
        mentions.sort(key=lambda m: m.start)
        return mentions

    def _longest(self, text: str, pos: int) -> tuple[int, _Hit] | None:
        """The longest surface starting at ``pos``: (end offset, hit), walking the token trie."""
        node: dict[str, Any] = self._trie
        best: tuple[int, _Hit] | None = None
        prev_end = pos
        first = True
        for m in _TOKEN.finditer(text, pos):
            tok = _APOSTROPHES.get(m.group(), m.group())
            key = " " + tok if not first and m.start() > prev_end else tok
            child = node.get(key)
            if child is None:
                break
            node, first, prev_end = child, False, m.end()
            if "" in node:
                best = (m.end(), node[""])
        return best

    def _find_tickers(self, text: str) -> list[Mention]:
        """Ticker symbols in ticker contexts: 'NYSE: XOM', 'AMZN.O', 'ticker AMZN', '$AMZN'."""
        found: list[tuple[int, int, str | None]] = []  # symbol span and exchange
        for m in _EXCHANGE_COLON.finditer(text):
            ex = _EXCHANGE_BEFORE.search(text, max(0, m.start() - 24), m.start())
            if ex:
                found.append((m.start("sym"), m.end("sym"), ex.group("ex")))
        for m in _RIC.finditer(text):
            base = _RIC_SYMBOL.search(text, max(0, m.start() - 8), m.start())
            if base:
                found.append((base.start(), base.end(), _RIC_SUFFIXES[m.group("ric")]))
        if "icker" in text or "ymbol" in text:
            found.extend((m.start("sym"), m.end("sym"), None) for m in _TICKER_WORD.finditer(text))
        for m in _CASHTAG.finditer(text):
            if m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] == "$"):
                found.append((m.start("sym"), m.end("sym"), None))
        mentions: list[Mention] = []
        for start, end, exchange in found:
            sym = text[start:end]
            canonical = self.ticker(sym, exchange)
            if canonical is None and "." in sym:
                end = start + sym.index(".")
                canonical = self.ticker(text[start:end], exchange)
            if canonical is None or any(x.start < end and start < x.end for x in mentions):
                continue
            mentions.append(Mention(start, end, text[start:end], canonical, "ticker", False))
        return mentions


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored as a character trie (longest first)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    return build(trie)


def _first_token_regex(keys: Iterable[str]) -> re.Pattern[str]:
    """Where a surface can start: any first token of the trie, word-bounded."""
    words: list[str] = []
    puncts: list[str] = []
    for key in keys:
        (words if key[-1:].isalnum() or key[-1:] == "_" else puncts).append(key)
    parts = [r"(?<!\w)" + _trie_pattern(words) + r"(?:(?!\w)|(?=β[sS]\b))"]
    if puncts:
        parts.append(_trie_pattern(puncts))
    return re.compile("|".join(parts))


def _norm_symbol(symbol: str) -> str:
    """'MAERSK-B', 'MAERSK B' and 'MAERSK.B' are one symbol; '0700' and '700' too."""
    sym = re.sub(r"[\s.\-]([A-Z])$", r".\1", symbol.strip().upper())
    return sym.lstrip("0") or sym if sym.isdigit() else sym


def _extend_suffix(text: str, end: int) -> int:
    """Take a legal suffix ('Inc.', ', Ltd', ' plc') that follows a name into its span, and the dot
    of an abbreviated suffix that ends the name itself ('Alphabet Inc' + '.')."""
    m = _LEGAL_SUFFIX.match(text, end)
    if m:
        return m.end()
    if text[end:end + 1] == "." and _ABBREVIATED_END.search(text, max(0, end - 6), end):
        return end + 1
    return end


def _overlaps(mention: Mention, spans: list[tuple[int, int]]) -> bool:
    return any(s < mention.end and mention.start < e for s, e in spans)


_CUE_BEFORE = re.compile(r"([^\W\d_][\w-]*)[ \t]+$")
_WORD_AFTER = re.compile(r"\s*([\w'’]+|[^\w\s])")


def _prev_words(text: str, start: int, n: int = 3) -> list[str]:
    """Up to ``n`` words before ``start`` (nearest last)."""
    return re.findall(r"[^\W\d_][\w-]*", text[max(0, start - 60):start])[-n:]


def _next_token(text: str, end: int) -> str:
    m = _WORD_AFTER.match(text, end)
    return m.group(1) if m else ""


def _is_geographic(text: str, start: int, end: int) -> bool:
    """'the Amazon' (no capitalised word after), 'Amazon rainforest', 'the Delta region'."""
    nxt = _next_token(text, end)
    if nxt in _GEO_AFTER:
        return True
    before = text[max(0, start - 4):start]
    if before in {"the ", "The "}:
        return not nxt or not (nxt[:1].isupper() or nxt[:1] in "'’β" or nxt in _CUES_AFTER)
    return False


def _listed_with_company(text: str, raw: list[tuple[Mention, _Hit, int]], k: int, keep: list[bool]) -> bool:
    """'BP and Shell', 'Arm, Microsoft and Nvidia': next to an accepted company in a list."""
    mention = raw[k][0]
    if k > 0 and (keep[k - 1] or not raw[k - 1][1].ambiguous):
        between = text[raw[k - 1][0].end:mention.start]
        if _LIST_JOINER.fullmatch(between):
            return True
    if k + 1 < len(raw) and (keep[k + 1] or not raw[k + 1][1].ambiguous):
        between = text[mention.end:raw[k + 1][0].start]
        if _LIST_JOINER.fullmatch(between):
            return True
    return False


def _has_context(text: str, start: int, name_end: int, end: int) -> bool:
    """Whether the words around an ambiguous name make it a company."""
    if end > name_end:  # a legal suffix was taken in
        return True
    before = _prev_words(text, start)
    if before and before[-1] in _ARTICLES and text[start - 1:start].isspace():
        return False
    if _POSSESSIVE.match(text, name_end):
        return True
    cue = _CUE_BEFORE.search(text, max(0, start - 40), start)
    if cue and cue.group(1).lower() in _CUES_BEFORE:
        return True
    return _next_token(text, name_end) in _CUES_AFTER


@lru_cache(maxsize=4)
def _load_cached(models_dir: str) -> Gazetteer:
    base = Path(models_dir)
    companies = _read_companies(base / COMPANIES_FILE)
    non_path = base / NON_COMPANIES_FILE
    non = _read_non_companies(non_path) if non_path.exists() else _NonCompanies()
    return Gazetteer(companies, non)
