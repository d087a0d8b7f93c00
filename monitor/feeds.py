"""Feed bytes -> ``Feed`` with ``FeedEntry`` records: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

Pure: no I/O. feedparser is only ever given bytes (never a URL). On top of feedparser this module

* parses JSON Feed itself (feedparser does not);
* neutralises XML entity expansion (billion laughs, quadratic blow-up, external entities) by
  removing any DOCTYPE that declares entities before the parser sees the document;
* gives every entry a stable identity: its GUID, else its canonical link (tracking parameters
  removed with courlan), else a sha256 of title and summary;
* resolves relative links against the feed's URL, turns HTML titles/summaries/content into plain
  text, and reads dates itself where feedparser is known to get them silently wrong
  (``2020/1/10 14:33:00``) or to give up (month names in other languages);
* repairs a broken prolog (junk or a corrupt XML declaration before the root, undeclared ``rss:``
  prefixes) when feedparser finds no entries in a document that is visibly a feed.

A document that is not a feed at all (an HTML page, say) raises ``ParseError`` naming the URL;
``discover_feed_links`` finds the feeds such a page advertises.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from monitor.errors import ParseError
from monitor.types import Feed, FeedEntry

__all__ = ["canonical_url", "discover_feed_links", "html_to_text", "parse_date", "parse_feed"]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/feed+json", "application/json", "text/xml", "application/xml")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


# -- entry point ---------------------------------------------------------------------------------

def parse_feed(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Parse a feed document fetched from ``url`` (``headers``: the HTTP response headers, any case).

    Raises ``ParseError`` (with the URL) when the document is not a feed.
    """
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if _is_json(body, hdrs.get("content-type", "")):
        return _parse_json_feed(body, url)
    parsed = _feedparse(_defuse_entities(body), hdrs)
    if not parsed.entries:
        repaired = _repair(body)
        if repaired is not None:
            again = _feedparse(repaired, hdrs)
            if again.entries:
                parsed = again
    if not parsed.entries and not _is_feed_version(parsed.get("version", "")):
        raise ParseError(_not_a_feed_message(body, url, parsed))
    entries = tuple(_entry(e, url) for e in parsed.entries)
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    title = html_to_text(parsed.feed.get("title", ""))
    return Feed(url=url, title=title, entries=entries, version=parsed.get("version") or "",
                bozo=f"{type(bozo).__name__}: {bozo}" if bozo else None, ttl=_ttl(parsed.feed.get("ttl")))


def _ttl(value: Any) -> int | None:
    """RSS ``<ttl>`` in minutes (None when absent, not a number or not positive)."""
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def _feedparse(body: bytes, hdrs: Mapping[str, str]) -> Any:
    # Only the content type: a Content-Location would make feedparser rewrite GUIDs into URLs.
    response_headers = {"content-type": hdrs["content-type"]} if hdrs.get("content-type") else {}
    try:
        # A file object, not bytes: feedparser would try to open() bytes that look like a path.
        return feedparser.parse(io.BytesIO(body), response_headers=response_headers, sanitize_html=False,
                                resolve_relative_uris=False)
    except Exception as e:  # noqa: BLE001 - feedparser is meant not to raise; if it does, it's a parse error
        raise ParseError(f"feedparser failed: {e}") from e


def _is_feed_version(version: str) -> bool:
    return bool(version) and version != "unknown"


def _not_a_feed_message(body: bytes, url: str, parsed: Any) -> str:
    head = body[:4096].lower()
    if b"<html" in head or b"<!doctype html" in head:
        links = discover_feed_links(body.decode("utf-8", "replace"), url)
        hint = f"; it links to feeds: {', '.join(links[:5])}" if links else ""
        return f"{url}: an HTML page, not a feed{hint}"
    problem = parsed.get("bozo_exception")
    return f"{url}: not a feed ({problem})" if problem else f"{url}: not a feed"


# -- safety and repair ------------------------------------------------------------------------

_DOCTYPE_WITH_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_DOCTYPE_PLAIN = re.compile(rb"<!DOCTYPE[^>\[]*>", re.IGNORECASE)


def _defuse_entities(body: bytes) -> bytes:
    """Remove a DOCTYPE that declares entities (entity-expansion and external-entity attacks)."""
    if b"<!ENTITY" not in body.upper()[:1_000_000]:
        return body
    cleaned = _DOCTYPE_WITH_SUBSET.sub(b"", body, count=1)
    if b"<!ENTITY" in cleaned.upper()[:1_000_000]:  # declarations outside a well-formed subset
        cleaned = re.sub(rb"<!ENTITY[^>]*>", b"", cleaned, flags=re.IGNORECASE)
    return cleaned


_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF|RDF)[\s>]", re.IGNORECASE)


def _repair(body: bytes) -> bytes | None:
    """A cleaned copy of a feed whose prolog is broken, or None if there is nothing to repair."""
    match = _ROOT.search(body[:100_000])
    if match is None:
        return None
    fixed = body[match.start():]
    if b"<rss:" in fixed and b"xmlns:rss" not in fixed[:2000]:
        fixed = fixed.replace(b"<rss:", b"<").replace(b"</rss:", b"</")
    fixed = _defuse_entities(fixed)
    return None if fixed == body else fixed


# -- entries ---------------------------------------------------------------------------------

def _entry(e: Any, feed_url: str) -> FeedEntry:
    link = _resolve(e.get("link"), feed_url)
    title = _detail_text(e.get("title_detail"), e.get("title", ""))
    summary = _detail_text(e.get("summary_detail"), e.get("summary", ""))
    content = _best_content(e.get("content") or [])
    return FeedEntry(feed_url=feed_url, entry_id=_identity(e.get("id"), link, title, summary), link=link,
                     title=title, published=_entry_date(e), summary=summary, content=content)


def _resolve(link: Any, feed_url: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    try:
        return urljoin(feed_url, link)
    except ValueError:
        return link


def _identity(guid: Any, link: str | None, title: str, summary: str) -> str:
    if isinstance(guid, str) and guid.strip():
        return guid.strip()
    if link:
        return canonical_url(link)
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    return f"sha256:{digest}"


_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "cmpid", "ncid", "smid", "icid", "xtor", "spm",
    "sr_share", "ocid", "cmp", "guccounter", "guce_referrer", "guce_referrer_sig",
})
_TRACKING_PREFIXES = ("utm_", "at_", "oly_", "vero_", "pk_", "mtm_", "hmb_")


def canonical_url(url: str) -> str:
    """``url`` normalised for identity: scheme and host lower-cased, default port and fragment dropped,
    tracking parameters (utm_*, fbclid, gclid, at_*, ...) removed; other parameters kept in order."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip().split("#", 1)[0]
    scheme = parts.scheme.lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


def _detail_text(detail: Any, value: str) -> str:
    kind = (detail or {}).get("type", "") if isinstance(detail, Mapping) else ""
    if kind == "text/plain" and "<" not in value:
        return _clean_space(unescape(value))
    return html_to_text(value)


def _best_content(contents: list[Any]) -> str:
    texts = [_detail_text(c, c.get("value", "")) for c in contents if isinstance(c, Mapping)]
    return max(texts, key=len, default="")


# -- dates ------------------------------------------------------------------------------------

_SLASH_DATE = re.compile(r"^\s*(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_MONTHS = {
    # pt, es, fr, de, it, nl abbreviations -> English (only where they differ)
    "fev": "Feb", "abr": "Apr", "mai": "May", "ago": "Aug", "set": "Sep", "out": "Oct", "dez": "Dec",
    "ene": "Jan", "dic": "Dec", "janv": "Jan", "févr": "Feb", "fevr": "Feb", "mars": "Mar", "avr": "Apr",
    "juin": "Jun", "juil": "Jul", "août": "Aug", "aout": "Aug", "sept": "Sep", "déc": "Dec",
    "mär": "Mar", "mrz": "Mar", "okt": "Oct", "gen": "Jan", "mag": "May", "giu": "Jun", "lug": "Jul",
    "ott": "Oct", "mei": "May", "maa": "Mar",
}


def parse_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from a feed's date string (RFC 822, ISO 8601, ``2020/1/10 14:33``,
    RFC 822 with month names in a few European languages); None when it cannot be read."""
    if not value or not value.strip():
        return None
    value = value.strip()
    for parse in (_parse_slash, _parse_iso, _parse_rfc822, _parse_foreign_rfc822):
        when = parse(value)
        if when is not None:
            return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _parse_slash(value: str) -> datetime | None:
    m = _SLASH_DATE.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)  # no zone given: read as UTC
    except ValueError:
        return None


def _parse_iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _parse_rfc822(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None and re.search(r"[A-Za-z]{3,}\s*$", value) and not value.rstrip().endswith("GMT"):
        return None  # an unknown zone name: feedparser knows more of them
    return when


def _parse_foreign_rfc822(value: str) -> datetime | None:
    parts = re.split(r"(\s+)", value)
    changed = False
    for i, word in enumerate(parts):
        key = word.lower().rstrip(".,")
        if key in _MONTHS:
            parts[i] = _MONTHS[key]
            changed = True
    if not changed:
        return None
    text = "".join(parts)
    text = re.sub(r"^\s*[^\d\s,]+,\s*", "", text)  # drop a weekday in any language
    return _parse_rfc822(text)


def _entry_date(e: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        when = parse_date(e.get(key))
        if when is not None:
            return when
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = e.get(key)
        if st:
            try:
                return datetime(st[0], st[1], st[2], st[3], st[4], st[5], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


# -- JSON Feed --------------------------------------------------------------------------------

def _is_json(body: bytes, content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("application/feed+json", "application/json") or ctype.endswith("+json"):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _parse_json_feed(body: bytes, url: str) -> Feed:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(f"{url}: not a feed (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(f"{url}: not a feed (JSON without a JSON Feed 'items' list)")
    version = str(doc.get("version", ""))
    entries = tuple(_json_entry(item, url, url) for item in doc["items"] if isinstance(item, dict))
    return Feed(url=url, title=_clean_space(str(doc.get("title") or "")), entries=entries,
                version="json11" if version.endswith("1.1") else "json1",
                bozo=None if "jsonfeed.org" in version else f"JSON Feed version missing or unknown: {version!r}")


def _json_entry(item: dict[str, Any], feed_url: str, base: str) -> FeedEntry:
    link = _resolve(item.get("url") or item.get("external_url"), base)
    title = html_to_text(str(item.get("title") or ""))
    summary = html_to_text(str(item.get("summary") or ""))
    if item.get("content_html"):
        content = html_to_text(str(item["content_html"]))
    else:
        content = _clean_space(str(item.get("content_text") or ""))
    guid = item.get("id")
    guid = str(guid) if guid is not None and not isinstance(guid, dict | list) else None
    published = parse_date(str(item.get("date_published") or "")) or parse_date(str(item.get("date_modified") or ""))
    return FeedEntry(feed_url=feed_url, entry_id=_identity(guid, link, title, summary or content), link=link,
                     title=title, published=published, summary=summary, content=content)


# -- HTML to text -------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                         "blockquote", "pre", "section", "article", "header", "footer", "figure",
                         "figcaption", "table", "hr", "dd", "dt"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text from an HTML fragment: tags dropped, entities decoded, paragraphs kept as lines."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return _clean_space(html)
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; never lose the text over markup
        return _clean_space(unescape(re.sub(r"<[^>]*>", " ", html)))
    return _clean_space("".join(collector.parts))


def _clean_space(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{2,}", "\n", "\n".join(lines)).strip()


# -- discovery --------------------------------------------------------------------------------

class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").split(";", 1)[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and a.get("href"):
            self.found.append((a["href"].strip(), kind))


def discover_feed_links(html: str | bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds an HTML page advertises with ``<link rel="alternate" type=...>``."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    collector = _LinkCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # noqa: BLE001 - a page we cannot read advertises nothing
        return []
    out: list[str] = []
    for href, _kind in collector.found:
        absolute = urljoin(base_url, href)
        if urlsplit(absolute).scheme in ("http", "https") and absolute not in out:
            out.append(absolute)
    return out
