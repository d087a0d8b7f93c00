"""monitor.feeds on small feeds written for these tests (RSS, Atom, RDF, JSON Feed, broken ones)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.feeds import canonical_url, discover_feed_links, html_to_text, parse_date, parse_feed

FEED_URL = "https://news.example.org/feeds/main.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Example &amp; News</title><link>https://news.example.org/</link>
<item>
  <title>Acme emissions rise 12% &lt;b&gt;in 2023&lt;/b&gt;</title>
  <link>https://news.example.org/a/1?utm_source=rss&amp;utm_medium=feed&amp;id=7</link>
  <guid isPermaLink="false">acme-2023-emissions</guid>
  <pubDate>Tue, 05 Mar 2024 14:30:00 +0100</pubDate>
  <description>&lt;p&gt;Acme said its &lt;em&gt;Scope 1&lt;/em&gt; emissions rose&amp;nbsp;12%.&lt;/p&gt;
  &lt;p&gt;Second para &amp;amp; more.&lt;/p&gt;</description>
  <content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[
  <p>Full text: Acme's emissions rose 12% in 2023.</p><script>var x = 1;</script>
  <p>It pledged net zero by 2040.</p>]]></content:encoded>
</item>
<item>
  <title>No guid here</title>
  <link>https://news.example.org/b/2?fbclid=XYZ&amp;gclid=abc&amp;page=2#comments</link>
  <pubDate>Wed, 06 Mar 2024 09:00:00 GMT</pubDate>
</item>
<item>
  <title>Neither guid nor link</title>
  <description>Just a note.</description>
</item>
</channel></rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Atom &lt;i&gt;Climate&lt;/i&gt; Desk</title>
  <id>urn:uuid:feed</id>
  <updated>2024-03-05T10:00:00Z</updated>
  <entry>
    <title type="html">BigCo &lt;i&gt;doubles&lt;/i&gt; solar spend</title>
    <link rel="alternate" href="/stories/bigco-solar"/>
    <id>tag:example.org,2024:1</id>
    <published>2024-03-05T10:00:00-05:00</published>
    <summary type="text">BigCo will spend $2 billion &amp; more.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>BigCo will spend <b>$2 billion</b> on solar.</p></div></content>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.org/"><title>RDF Desk</title><link>https://rdf.example.org/</link>
    <description>d</description></channel>
  <item rdf:about="https://rdf.example.org/1"><title>First</title><link>https://rdf.example.org/1</link>
    <dc:date>2024-01-02T03:04:05Z</dc:date><description>One</description></item>
  <item rdf:about="https://rdf.example.org/2"><title>Second</title><link>https://rdf.example.org/2</link>
    <description>Two</description></item>
</rdf:RDF>
"""


def test_rss_entries_text_links_dates_and_identity():
    feed = parse_feed(RSS, FEED_URL, {"Content-Type": "application/rss+xml; charset=utf-8"})
    assert feed.version == "rss20" and feed.title == "Example & News" and feed.url == FEED_URL
    first, second, third = feed.entries
    assert first.entry_id == "acme-2023-emissions"  # GUID wins
    assert first.title == "Acme emissions rise 12% in 2023"  # markup in the title made plain
    assert first.summary == "Acme said its Scope 1 emissions rose 12%.\nSecond para & more."
    assert first.content == "Full text: Acme's emissions rose 12% in 2023.\nIt pledged net zero by 2040."
    assert "var x" not in first.content
    assert first.published == datetime(2024, 3, 5, 13, 30, tzinfo=UTC)
    assert first.link == "https://news.example.org/a/1?utm_source=rss&utm_medium=feed&id=7"
    # no GUID: the canonical link, tracking parameters and fragment removed
    assert second.entry_id == "https://news.example.org/b/2?page=2"
    assert second.link.startswith("https://news.example.org/b/2?fbclid=XYZ")
    # neither: a hash of title and summary, stable across parses
    expected = "sha256:" + hashlib.sha256(b"Neither guid nor link\nJust a note.").hexdigest()
    assert third.entry_id == expected and third.link is None and third.published is None
    assert parse_feed(RSS, FEED_URL).entries[2].entry_id == expected
    assert all(e.feed_url == FEED_URL for e in feed.entries)


def test_atom_relative_links_resolved_and_html_title_plain():
    feed = parse_feed(ATOM, FEED_URL)
    assert feed.version == "atom10" and feed.title == "Atom Climate Desk"
    (entry,) = feed.entries
    assert entry.link == "https://news.example.org/stories/bigco-solar"
    assert entry.title == "BigCo doubles solar spend"
    assert entry.entry_id == "tag:example.org,2024:1"
    assert entry.summary == "BigCo will spend $2 billion & more."
    assert entry.content == "BigCo will spend $2 billion on solar."
    assert entry.published == datetime(2024, 3, 5, 15, 0, tzinfo=UTC)


def test_rdf_feed():
    feed = parse_feed(RDF, "https://rdf.example.org/index.rdf")
    assert feed.version == "rss10" and [e.title for e in feed.entries] == ["First", "Second"]
    assert feed.entries[0].published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert feed.entries[1].published is None
    assert feed.entries[0].link == "https://rdf.example.org/1"


def _json_feed(**over) -> bytes:
    doc = {
        "version": "https://jsonfeed.org/version/1.1", "title": "JSON Desk",
        "items": [
            {"id": 42, "url": "/posts/42", "title": "Steel maker cuts CO2 by 8%",
             "content_html": "<p>It cut <b>8%</b>.</p>", "summary": "Cut &amp; dried",
             "date_published": "2024-02-01T12:00:00+02:00"},
            {"id": "b", "external_url": "https://other.example.com/x", "content_text": "Plain text body"},
        ],
    }
    doc.update(over)
    return json.dumps(doc).encode()


def test_json_feed_by_content_type_and_by_sniffing():
    for headers in ({"content-type": "application/feed+json"}, None):
        feed = parse_feed(_json_feed(), "https://j.example.net/feed.json", headers)
        assert feed.version == "json11" and feed.title == "JSON Desk"
        first, second = feed.entries
        assert (first.entry_id, first.link) == ("42", "https://j.example.net/posts/42")
        assert first.content == "It cut 8%." and first.summary == "Cut & dried"
        assert first.published == datetime(2024, 2, 1, 10, 0, tzinfo=UTC)
        assert second.link == "https://other.example.com/x" and second.content == "Plain text body"


def test_json_that_is_not_a_feed_raises():
    with pytest.raises(ParseError, match="https://j.example.net/x.json"):
        parse_feed(b'{"hello": "world"}', "https://j.example.net/x.json")
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_feed(b"{not json", "https://j.example.net/y.json")


HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Example site</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.rss">
<link rel="alternate" type="application/atom+xml" href="https://news.example.org/atom.xml">
<link rel="stylesheet" href="/style.css">
</head><body><h1>Welcome</h1><p>Not a feed.</p></body></html>"""


def test_html_page_raises_parse_error_naming_url_and_feeds():
    with pytest.raises(ParseError) as err:
        parse_feed(HTML_PAGE, "https://news.example.org/", {"content-type": "text/html"})
    message = str(err.value)
    assert "https://news.example.org/" in message and "HTML page" in message
    assert "https://news.example.org/feed.rss" in message


def test_discover_feed_links():
    assert discover_feed_links(HTML_PAGE, "https://news.example.org/section/") == [
        "https://news.example.org/feed.rss", "https://news.example.org/atom.xml"]
    assert discover_feed_links("<html><body>nothing</body></html>", "https://x.example/") == []


def test_plain_garbage_raises_parse_error():
    with pytest.raises(ParseError, match="https://x.example/f"):
        parse_feed(b"just some words, no markup", "https://x.example/f")


def test_bytes_that_look_like_a_path_are_not_opened(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)  # a readable local feed: feedparser would open() a bytes path
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode(), "https://x.example/f")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>&lol9;</title><link>https://laughs.example/1</link><description>&xxe;</description></item>
</channel></rss>
"""


def test_billion_laughs_and_external_entities_neutralised():
    started = time.monotonic()
    feed = parse_feed(BILLION_LAUGHS, "https://laughs.example/feed")
    assert time.monotonic() - started < 5
    (entry,) = feed.entries
    assert entry.link == "https://laughs.example/1"
    assert len(entry.title) < 100 and "lollol" not in entry.title
    assert "root:" not in entry.summary


def test_quadratic_blowup_neutralised():
    big = "A" * 50_000
    doc = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]><rss version="2.0"><channel>'
           f'<title>q</title><item><title>t</title><link>https://q.example/1</link><description>'
           + "&a;" * 20_000 + "</description></item></channel></rss>").encode()
    feed = parse_feed(doc, "https://q.example/feed")
    assert len(feed.entries) == 1 and len(feed.entries[0].summary) < 1_000_000


def test_wrong_declared_encoding_decoded():
    # declares ISO-8859-1 but the bytes are UTF-8 (and the reverse): text survives, never dropped
    utf8_as_latin = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>c</title>'
                     '<item><title>Émissions réduites à zéro</title><link>https://e.example/1</link></item>'
                     '</channel></rss>').encode()
    feed = parse_feed(utf8_as_latin, "https://e.example/feed")
    assert [e.title for e in feed.entries] == ["Émissions réduites à zéro"]
    latin_as_utf8 = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
                     '<item><title>Émissions réduites</title><link>https://e.example/2</link></item>'
                     '</channel></rss>').encode("latin-1")
    feed = parse_feed(latin_as_utf8, "https://e.example/feed")
    assert len(feed.entries) == 1 and feed.entries[0].title == "Émissions réduites"
    assert feed.bozo  # feedparser's complaint is kept


def test_junk_after_root_and_broken_prolog_still_give_entries():
    junk = RSS + b"<script>window.cf = 1;</script>\n<div>junk</div>"
    assert len(parse_feed(junk, FEED_URL).entries) == 3
    broken = (b"<!-- generator -->\n<?xml?xml version=\"1.0\" ??>\n<rss rss:version=2.0><rss:channel>"
              b"<rss:title>B</rss:title><rss:item><rss:title>Kept</rss:title><rss:link>https://b.example/1"
              b"</rss:link></rss:item></rss:channel></rss>")
    feed = parse_feed(broken, "https://b.example/feed")
    assert [e.title for e in feed.entries] == ["Kept"]
    assert feed.entries[0].link == "https://b.example/1"


def test_empty_but_valid_feed_is_not_an_error():
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', FEED_URL)
    assert feed.entries == () and feed.title == "Quiet"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Tue, 05 Mar 2024 14:30:00 +0100", datetime(2024, 3, 5, 13, 30, tzinfo=UTC)),
    ("2024-03-05T14:30:00Z", datetime(2024, 3, 5, 14, 30, tzinfo=UTC)),
    ("2020/1/10 14:33:00", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),  # feedparser says 2020-11-01
    ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
    ("Wed, 29 May 2019 10:16:00 GMT ", datetime(2019, 5, 29, 10, 16, tzinfo=UTC)),
    ("Mon, 20 Aug 2012 11:00:00 EST", datetime(2012, 8, 20, 16, 0, tzinfo=UTC)),
    ("yesterday", None),
    ("", None),
])
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


def test_canonical_url_and_html_to_text():
    assert canonical_url("https://a.example/x?utm_campaign=c&q=1&gclid=z#top") == "https://a.example/x?q=1"
    assert html_to_text("<p>One &amp; two</p><p>three<br>four</p>") == "One & two\nthree\nfour"
    assert html_to_text("Price < 5 and > 2") == "Price < 5 and > 2"
