"""HTML -> ``Article``: the page's main text and metadata with trafilatura, the feed as fallback.

Pure: no I/O. Bytes are decoded here, robustly: the charset from the HTTP header, a BOM or the
page's ``<meta>``, else UTF-8, else a detected encoding; undecodable bytes become U+FFFD, text is
never dropped. Common mojibake (UTF-8 read as Windows-1252: ``â€™``) is repaired when the repair
round-trips exactly.

When the page yields no text (or only a teaser much shorter than the feed's own full text), the
entry's content, then its summary, stand in (``source="feed"``).
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from typing import Any

from monitor.errors import ParseError
from monitor.types import Article, FeedEntry

__all__ = ["article_from_entry", "decode_html", "extract_article", "fix_mojibake"]

# The page's text must be at least this share of the feed's full content to be preferred to it.
TEASER_RATIO = 0.5

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HTML_LANG = re.compile(rb"""<html[^>]*\blang\s*=\s*["']?([A-Za-z]{2,3})""", re.IGNORECASE)
_MOJIBAKE = re.compile("[ÃÂâ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                       "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")


def extract_article(html: bytes | str, url: str | None, *, entry: FeedEntry | None = None,
                    content_type: str | None = None) -> Article:
    """The main text of a page (``content_type``: the HTTP header, for its charset).

    Falls back to ``entry``'s content or summary when the page yields nothing; raises
    ``ParseError`` (with the URL) when neither the page nor the entry has any text.
    """
    text_html = decode_html(html, content_type) if isinstance(html, bytes) else html
    doc = _trafilatura(text_html, url)
    text = fix_mojibake(_doc_field(doc, "text")).strip()
    feed_text = (entry.content or entry.summary).strip() if entry else ""
    if not text or (entry and entry.content and len(text) < TEASER_RATIO * len(entry.content)):
        if feed_text:
            fallback = article_from_entry(entry)  # type: ignore[arg-type]  # feed_text implies entry
            return Article(url=url or fallback.url, title=fallback.title or _doc_field(doc, "title"),
                           text=fallback.text, published=fallback.published, source="feed",
                           language=_language(doc, text_html), author=fallback.author)
        if not text:
            raise ParseError(f"{url or 'page'}: no main text found in the page")
    title = fix_mojibake(_doc_field(doc, "title")) or (entry.title if entry else "")
    published = (entry.published if entry and entry.published else None) or _page_date(_doc_field(doc, "date"))
    author = _doc_field(doc, "author") or None
    return Article(url=url, title=title.strip(), text=text, published=published, source="page",
                   language=_language(doc, text_html), author=author)


def article_from_entry(entry: FeedEntry) -> Article:
    """The article as the feed carries it (content, else summary): for pages that can't be fetched."""
    return Article(url=entry.link, title=entry.title, text=fix_mojibake((entry.content or entry.summary).strip()),
                   published=entry.published, source="feed")


# -- trafilatura ------------------------------------------------------------------------------

def _trafilatura(html: str, url: str | None) -> Any:
    import trafilatura

    if not html.strip():
        return None
    try:
        return trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                           include_tables=True)
    except Exception:  # noqa: BLE001 - a page trafilatura chokes on has no usable text
        return None


def _doc_field(doc: Any, name: str) -> str:
    if doc is None:
        return ""
    value = doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)
    return value if isinstance(value, str) else ""


def _page_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _language(doc: Any, html: str) -> str | None:
    lang = _doc_field(doc, "language")
    if lang:
        return lang.lower()
    m = _HTML_LANG.search(html[:5000].encode("utf-8", "replace"))
    return m.group(1).decode().lower() if m else None


# -- decoding ---------------------------------------------------------------------------------

def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Text from HTML bytes: header charset, BOM, ``<meta charset>``, UTF-8, detection; never drops text."""
    for encoding in _declared_encodings(data, content_type):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guessed = _detect(data)
    return data.decode(guessed or "utf-8", errors="replace")


def _declared_encodings(data: bytes, content_type: str | None) -> list[str]:
    found: list[str] = []
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return [name]
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m:
            found.append(m.group(1))
    meta = _META_CHARSET.search(data[:8192])
    if meta:
        found.append(meta.group(1).decode("ascii", "replace"))
    # ISO-8859-1 and US-ASCII labels mean Windows-1252 on the web (WHATWG encoding standard)
    return ["cp1252" if e.lower() in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii") else e
            for e in found]


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return "cp1252"
    best = from_bytes(data[:200_000]).best()
    return best.encoding if best is not None else None


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Windows-1252 (``â€™`` -> ``’``) when that is unambiguous."""
    if not text or not _MOJIBAKE.search(text):
        return text
    raw = _as_cp1252(text)
    if raw is None:
        return text
    try:
        repaired = raw.decode("utf-8")
    except UnicodeDecodeError:
        return text
    return repaired if len(_MOJIBAKE.findall(repaired)) < len(_MOJIBAKE.findall(text)) else text


def _as_cp1252(text: str) -> bytes | None:
    """The bytes a Windows-1252 (or Latin-1, for its C1 controls) decoder turned into ``text``."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                return None
            out.append(ord(ch))
    return bytes(out)
