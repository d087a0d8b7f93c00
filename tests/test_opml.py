"""monitor.opml: safe OPML reading (real exports from ../shared/realworld/opml), writing, round trip."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.opml import OpmlFeed, parse_opml, render_opml
from tests.conftest import SHARED, shared_path

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OPML_DIR = SHARED / "realworld" / "opml"
OPML_FILES = sorted(p.name for p in OPML_DIR.glob("*.opml")) if OPML_DIR.exists() else [None]


def _xml_urls(data: bytes) -> list[str]:
    """The distinct xmlUrl values, read independently of the module under test."""
    return list(dict.fromkeys(u.decode() for u in re.findall(rb'xmlUrl\s*=\s*"([^"]+)"', data)))


@pytest.mark.realworld
@pytest.mark.parametrize("name", OPML_FILES)
def test_real_opml_files_import_every_outline_with_xml_url(name):
    if name is None:
        shared_path("realworld", "opml")
    data = (OPML_DIR / name).read_bytes()
    feeds = parse_opml(data, name)
    expected = _xml_urls(data)
    assert len(expected) > 5
    assert [f.url for f in feeds] == expected
    assert all(f.title for f in feeds)
    assert all(f.tags for f in feeds)  # every plenary feed sits in a category folder


def test_nested_folders_become_tags_and_duplicates_are_kept_once():
    data = b"""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
      <outline text="Climate"><outline text="Wires">
        <outline text="A" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/" category="/energy,esg"/>
      </outline>
        <outline text="B" title="B title" xmlUrl="http://b.example/rss"/>
        <outline text="dup" xmlUrl="https://a.example/feed"/>
        <outline text="not http" xmlUrl="ftp://c.example/feed"/>
      </outline>
      <outline text="Top" xmlUrl="https://top.example/atom"/>
    </body></opml>"""
    feeds = parse_opml(data)
    assert feeds == [
        OpmlFeed("https://a.example/feed", "A", ("Climate", "Wires", "energy", "esg"), "https://a.example/"),
        OpmlFeed("http://b.example/rss", "B title", ("Climate",)),
        OpmlFeed("https://top.example/atom", "Top", ()),
    ]


def test_billion_laughs_and_external_entities_refused():
    laughs = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol "lol">
      <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
      <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
      <opml version="1.0"><body><outline text="&lol3;" xmlUrl="https://x.example/f"/></body></opml>"""
    with pytest.raises(ParseError, match="entity"):
        parse_opml(laughs, "laughs.opml")
    external = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <opml version="1.0"><body><outline text="&xxe;" xmlUrl="https://x.example/f"/></body></opml>"""
    with pytest.raises(ParseError, match="refused"):
        parse_opml(external, "xxe.opml")
    broken_and_laughing = laughs.replace(b"<body>", b"<body><oops & >")
    with pytest.raises(ParseError, match="entit"):
        parse_opml(broken_and_laughing, "both.opml")


def test_not_opml_and_not_xml_raise_parse_error_naming_the_source():
    with pytest.raises(ParseError, match="page.html: not an OPML"):
        parse_opml(b"<html><body>hi</body></html>", "page.html")
    with pytest.raises(ParseError, match="junk.opml"):
        parse_opml(b"\x00\x01 not xml at all", "junk.opml")


def test_render_then_parse_round_trips_with_escaping():
    feeds = [OpmlFeed("https://a.example/feed?x=1&y=2", 'Quotes " & <angles>', ("Energy & Climate", "esg")),
             OpmlFeed("https://b.example/rss", "", ())]
    data = render_opml(feeds, title="Pledgewatch feeds", now=NOW)
    assert data.startswith(b"<?xml")
    back = parse_opml(data, "export")
    assert [(f.url, f.tags) for f in back] == [("https://a.example/feed?x=1&y=2", ("Energy & Climate", "esg")),
                                               ("https://b.example/rss", ())]
    assert back[0].title == 'Quotes " & <angles>'
    assert back[1].title == "https://b.example/rss"  # an untitled feed is shown by its URL
