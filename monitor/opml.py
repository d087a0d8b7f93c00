"""OPML subscription lists: read (safely) and write. Pure: bytes in, records out, and back.

Reading uses the stdlib's expat parser directly, with the protections defusedxml applies: a
document that declares entities (billion laughs, quadratic blow-up) or refers to external ones
is refused with ``ParseError``; parameter entities and external DTDs are never loaded. Every
``<outline>`` with an ``xmlUrl`` (http or https) becomes an ``OpmlFeed``; the ``text``/``title`` of
enclosing outlines become its tags (OPML's folders). Duplicate URLs are kept once.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - used only to *write* OPML
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import unescape
from xml.parsers import expat

from monitor.errors import ParseError

__all__ = ["OpmlFeed", "parse_opml", "render_opml"]

MAX_BYTES = 20_000_000


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed listed in an OPML file."""

    url: str
    title: str = ""
    tags: tuple[str, ...] = ()
    html_url: str = ""


class _Refused(Exception):
    pass


def parse_opml(data: bytes, source: str = "OPML") -> list[OpmlFeed]:
    """The feeds an OPML document lists; ``ParseError`` naming ``source`` if it is not usable."""
    if len(data) > MAX_BYTES:
        raise ParseError(f"{source}: OPML file too large ({len(data)} bytes, limit {MAX_BYTES})")
    try:
        collector: _Collector = _parse(data)
    except _Refused as e:
        raise ParseError(f"{source}: refused: {e}") from None
    except expat.ExpatError as e:
        # Real exports are often not well-formed ("Business & Economy", "<em>" inside attributes):
        # read them leniently, still never expanding entities.
        if b"<!ENTITY" in data.upper():
            raise ParseError(f"{source}: refused: the document declares entities") from None
        collector = _parse_lenient(data)
        if not collector.saw_opml:
            raise ParseError(f"{source}: not well-formed XML: {e}") from None
    if not collector.saw_opml:
        raise ParseError(f"{source}: not an OPML document (root element is not <opml>)")
    return collector.feeds


def _parse(data: bytes) -> _Collector:
    collector = _Collector()
    _safe_parser(collector).Parse(data, True)
    return collector


def _parse_lenient(data: bytes) -> _Collector:
    """Read ``<outline>`` tags with regular expressions: enough for OPML whose attributes hold
    stray ``&``, ``<`` or even ``"`` (seen in real exports). Only HTML's own character
    references are decoded; no declared entity is ever expanded."""
    collector = _Collector()
    collector.start("opml", {})
    collector.saw_opml = b"<opml" in data[:4096].lower()
    tokens = list(_OUTLINE_TOKEN.finditer(data))
    for i, tok in enumerate(tokens):
        if tok.group().startswith(b"</"):
            collector.end("outline")
            continue
        stop = tokens[i + 1].start() if i + 1 < len(tokens) else len(data)
        segment = data[tok.start():stop]
        attrs: dict[str, str] = {}
        for m in _ATTRIBUTE.finditer(segment):
            name = m.group(1).decode("ascii").lower()
            attrs.setdefault(name, unescape(m.group(2).decode("utf-8", "replace")))
        collector.start("outline", attrs)
        if segment[: segment.rfind(b">") + 1].rstrip().endswith(b"/>"):
            collector.end("outline")
    return collector


_OUTLINE_TOKEN = re.compile(rb"<outline\b|</outline\s*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"\b(xmlUrl|htmlUrl|text|title|category)\s*=\s*\"([^\"]*)\"", re.IGNORECASE)


def _safe_parser(collector: _Collector) -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_entity(name: str, *_args: object) -> None:
        raise _Refused(f"the document declares the entity {name!r} (entity expansion is not allowed)")

    def refuse_external(*_args: object) -> int:
        raise _Refused("the document refers to an external entity")

    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    return parser


class _Collector:
    """Builds ``OpmlFeed`` records from expat events, tracking enclosing folder outlines."""

    def __init__(self) -> None:
        self.feeds: list[OpmlFeed] = []
        self.saw_opml = False
        self._depth = 0
        self._folders: list[str | None] = []  # one per open <outline>: its folder name or None
        self._seen: set[str] = set()

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        local = name.rsplit(":", 1)[-1].lower()
        if self._depth == 1:
            self.saw_opml = local == "opml"
        if local != "outline":
            return
        attrs = {k.lower(): v for k, v in attrs.items()}
        url = attrs.get("xmlurl", "").strip()
        label = (attrs.get("text") or attrs.get("title") or "").strip()
        if url:
            self._folders.append(None)
            if url.lower().startswith(("http://", "https://")) and url not in self._seen:
                self._seen.add(url)
                cats = [c.strip().strip("/") for c in attrs.get("category", "").split(",")]
                tags = tuple(dict.fromkeys([*(f for f in self._folders if f), *(c for c in cats if c)]))
                self.feeds.append(OpmlFeed(url=url, title=(attrs.get("title") or label).strip(), tags=tags,
                                           html_url=attrs.get("htmlurl", "").strip()))
        else:
            self._folders.append(label or None)

    def end(self, name: str) -> None:
        self._depth -= 1
        if name.rsplit(":", 1)[-1].lower() == "outline" and self._folders:
            self._folders.pop()


def render_opml(feeds: Iterable[OpmlFeed], *, title: str, now: datetime) -> bytes:
    """An OPML 2.0 document listing ``feeds``, grouped in folders by their first tag."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=now.utcoffset() is not None)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            parent = folders.get(feed.tags[0]) or ET.SubElement(body, "outline", text=feed.tags[0])
            folders[feed.tags[0]] = parent
        _outline(parent, feed)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _outline(parent: ET.Element, feed: OpmlFeed) -> None:
    attrs = {"type": "rss", "text": feed.title or feed.url, "title": feed.title or feed.url, "xmlUrl": feed.url}
    if feed.html_url:
        attrs["htmlUrl"] = feed.html_url
    if len(feed.tags) > 1:
        attrs["category"] = ",".join(feed.tags[1:])
    ET.SubElement(parent, "outline", attrs)
