"""monitor.text: main text from small pages written for these tests, and the feed fallback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.text import article_from_entry, decode_html, extract_article, fix_mojibake
from monitor.types import FeedEntry

BODY = [
    "Acme Corp said on Tuesday that its total greenhouse gas emissions rose 12% in 2023 compared with "
    "the previous year, driven by the rapid expansion of its data centres in Ireland and Arizona.",
    "The company, which has pledged to reach net zero by 2040, said scope 2 emissions from purchased "
    "electricity accounted for most of the increase, as new capacity came online faster than expected.",
    "Analysts said the figures showed how hard it will be for technology groups to meet their climate "
    "targets while investing billions of dollars in artificial intelligence infrastructure.",
]

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Acme emissions rise 12% | Example News</title>
<meta property="og:title" content="Acme emissions rise 12% as data centres grow">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2024-03-05T09:00:00Z">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/climate">Climate</a></li><li>Subscribe now</li></ul></nav>
<article><h1>Acme emissions rise 12% as data centres grow</h1>
<p>{BODY[0]}</p><p>{BODY[1]}</p><p>{BODY[2]}</p></article>
<footer><p>Copyright Example News. All rights reserved. Cookie settings.</p></footer>
</body></html>"""

ENTRY = FeedEntry(feed_url="https://news.example.org/feed", entry_id="e1", link="https://news.example.org/acme",
                  title="Acme emissions rise", published=datetime(2024, 3, 5, 8, 0, tzinfo=UTC),
                  summary="Acme's emissions rose.", content="Acme's emissions rose 12% in 2023, the feed says.")


def test_page_main_text_and_metadata():
    art = extract_article(PAGE.encode(), "https://news.example.org/acme")
    assert art.source == "page" and art.url == "https://news.example.org/acme"
    for para in BODY:
        assert para in art.text
    assert "Subscribe now" not in art.text and "Cookie settings" not in art.text
    assert "Acme emissions rise 12%" in art.title
    assert art.language == "en"
    assert art.author == "Jane Reporter"
    assert art.published == datetime(2024, 3, 5, tzinfo=UTC)


def test_entry_date_preferred_to_page_date():
    art = extract_article(PAGE, "https://news.example.org/acme", entry=ENTRY)
    assert art.source == "page" and art.published == ENTRY.published


def test_empty_page_falls_back_to_feed_content_then_summary():
    empty = b"<html><head><title>x</title></head><body><nav>Home</nav></body></html>"
    art = extract_article(empty, "https://news.example.org/acme", entry=ENTRY)
    assert art.source == "feed" and art.text == ENTRY.content and art.title == ENTRY.title
    no_content = FeedEntry(feed_url=ENTRY.feed_url, entry_id="e2", link=None, title="T", summary="Only a summary.")
    art = extract_article(b"", "https://news.example.org/x", entry=no_content)
    assert art.source == "feed" and art.text == "Only a summary."


def test_teaser_page_shorter_than_full_feed_content_uses_feed():
    full = " ".join(BODY * 3)
    entry = FeedEntry(feed_url="f", entry_id="e3", link="https://n.example/p", title="T", content=full)
    teaser = f"<html><body><article><p>{BODY[0]}</p><p>Subscribe to read more.</p></article></body></html>"
    art = extract_article(teaser, "https://n.example/p", entry=entry)
    assert art.source == "feed" and art.text == full


def test_nothing_anywhere_raises_parse_error_with_url():
    with pytest.raises(ParseError, match="https://n.example/empty"):
        extract_article(b"<html><body></body></html>", "https://n.example/empty")


def test_article_from_entry():
    art = article_from_entry(ENTRY)
    assert (art.url, art.title, art.text, art.published, art.source) == (
        ENTRY.link, ENTRY.title, ENTRY.content, ENTRY.published, "feed")


def test_decoding_header_meta_and_undeclared():
    text = "Émissions de CO₂ réduites – “quoted”"
    html = f"<html><head><meta charset='windows-1252'></head><body><p>{text[:-1]}</p></body></html>"
    # header charset wins; a <meta> charset is used when there is no header
    assert "Émissions" in decode_html(text.encode("utf-8"), "text/html; charset=utf-8")
    assert "réduites – “quoted" in decode_html(html.replace("CO₂", "CO2").encode("cp1252"))
    # undeclared Latin-1 bytes are detected, not dropped
    undeclared = ("<html><body><p>" + "Les émissions ont été réduites de moitié à Genève. " * 5
                  + "</p></body></html>").encode("latin-1")
    decoded = decode_html(undeclared)
    assert "émissions ont été réduites" in decoded and "\ufffd" not in decoded
    # bytes that are nothing valid still give text, with replacement characters
    assert "abc" in decode_html(b"<p>abc \xff\xfe\xfd def</p>", "text/html; charset=utf-8")


def test_page_with_wrong_charset_declared_still_yields_text():
    body = PAGE.replace('charset="utf-8"', 'charset="utf-8"').replace("Ireland", "Irlande à Dublin").encode("latin-1")
    art = extract_article(body, "https://news.example.org/acme", content_type="text/html; charset=utf-8")
    assert "Irlande" in art.text and "Dublin" in art.text


def test_fix_mojibake():
    assert fix_mojibake("Itâ€™s a â€œtestâ€\x9d") == "It’s a “test”"
    assert fix_mojibake("Ã‰missions rÃ©duites") == "Émissions réduites"
    assert fix_mojibake("Plain English, naïve café.") == "Plain English, naïve café."
    assert fix_mojibake("") == ""
