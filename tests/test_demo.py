"""The offline demo server: real HTTP on loopback, feeds parsed with feedparser on bytes."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import httpx
import pytest

from monitor.demo import DemoServer, content_type_for, load_demo_files

DEMO_DATA = Path(__file__).resolve().parent.parent / "monitor" / "demo_data"
EXPECTED_ENTRIES = {"sustainability.xml": ("rss20", 4), "tech.atom.xml": ("atom10", 4)}


@pytest.fixture(scope="module")
def demo():
    with DemoServer() as srv:
        yield srv


def test_base_url_is_loopback_with_a_real_port(demo):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", demo.base_url)
    assert not demo.base_url.endswith(":0")
    assert demo.url("/articles/x.html") == demo.base_url + "/articles/x.html"
    assert demo.url("articles/x.html") == demo.base_url + "/articles/x.html"


def test_feed_urls_name_each_feed_on_this_server(demo):
    urls = demo.feed_urls()
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == sorted(EXPECTED_ENTRIES)
    assert all(u.startswith(demo.base_url + "/") for u in urls)


@pytest.mark.parametrize("name", sorted(EXPECTED_ENTRIES))
def test_feed_parses_and_links_point_at_the_server(demo, name):
    r = httpx.get(demo.url(name))
    assert r.status_code == 200
    expected_type = "application/atom+xml" if name.endswith(".atom.xml") else "application/rss+xml"
    assert r.headers["content-type"].split(";")[0] == expected_type
    assert b"{base}" not in r.content
    parsed = feedparser.parse(r.content)
    version, count = EXPECTED_ENTRIES[name]
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert len(parsed.entries) == count
    for e in parsed.entries:
        assert e.link.startswith(demo.base_url + "/articles/") and e.link.endswith(".html")
        assert e.id.startswith("urn:pledgewatch-demo:")
        assert e.get("published_parsed") is not None and e.published_parsed.tm_year == 2025
        assert e.get("summary")


def test_every_feed_link_is_a_served_html_page(demo):
    links = []
    for url in demo.feed_urls():
        links += [e.link for e in feedparser.parse(httpx.get(url).content).entries]
    assert len(links) == len(set(links)) == 8
    assert sorted(links) == demo.article_urls()
    for link in links:
        r = httpx.get(link)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        html = r.text
        assert "{base}" not in html
        assert "<article>" in html and "<nav" in html and "<aside" in html and "<footer" in html
        assert "Demo article written for Pledgewatch; figures are illustrative" in html
        paragraphs = re.findall(r"<p>(.*?)</p>", html.split("<article>")[1].split("</article>")[0], re.S)
        assert 4 <= len(paragraphs) <= 8
        words = sum(len(p.split()) for p in paragraphs)
        assert 250 <= words <= 500, (link, words)


def test_pages_carry_the_sentences_the_extractor_needs(demo):
    google = httpx.get(demo.url("/articles/google-emissions-rise-ai-data-centres.html")).text
    assert "greenhouse gas emissions rose 11% in 2024 compared with 2023" in google
    forecast = httpx.get(demo.url("/articles/analysts-meta-emissions-forecast.html")).text
    assert "could rise" in forecast


def test_unknown_paths_are_404(demo):
    for path in ("/nope.html", "/articles/", "/", "/_expected.json", "/articles/../sustainability.xml.bak"):
        r = httpx.get(demo.url(path))
        assert r.status_code == 404, path


def test_head_gives_headers_without_body(demo):
    r = httpx.head(demo.url("/sustainability.xml"))
    assert r.status_code == 200
    assert int(r.headers["content-length"]) > 1000
    assert r.content == b""


def test_servers_are_independent_and_stop_releases_the_port():
    with DemoServer() as a, DemoServer() as b:
        assert a.base_url != b.base_url
        body = httpx.get(b.feed_urls()[0]).content
        assert b.base_url.encode() in body and a.base_url.encode() not in body
        url = a.feed_urls()[0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_demo_data_on_disk_uses_the_base_placeholder():
    files = load_demo_files()
    assert {p for p, f in files.items() if f.is_feed} == {"/" + n for n in EXPECTED_ENTRIES}
    for name in EXPECTED_ENTRIES:
        text = (DEMO_DATA / name).read_text(encoding="utf-8")
        assert "{base}/articles/" in text and "127.0.0.1" not in text


def test_content_types():
    assert content_type_for("a.atom.xml").startswith("application/atom+xml")
    assert content_type_for("a.xml").startswith("application/rss+xml")
    assert content_type_for("a.html") == "text/html; charset=utf-8"
    assert content_type_for("a.py") is None
