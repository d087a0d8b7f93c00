"""Real feeds and news pages from ../shared/realworld (read at test time, never copied here).

Feeds are served by a local HTTP server (gzip-compressed, as most servers do), fetched with
``Fetcher`` and parsed with ``parse_feed``. Entry counts must equal MANIFEST.tsv's ``entries=N``
(feedparser 6's count), except where we knowingly do better than feedparser:

* ``ODD_humanwhocodes.jsonfeed.json``: feedparser finds 0 entries in JSON Feed; we parse it, so the
  count must equal the JSON document's ``items``.
* ``ODD_dylanharris-broken-prolog.rss.xml``: feedparser finds 0 entries behind the corrupt prolog
  and undeclared ``rss:`` prefixes; our repair pass must find every ``<rss:item>``.

Entries without a date may only be fewer than the manifest's ``nodate=N`` (we read Portuguese month
names and ``2020/1/10`` dates that feedparser misses or misreads).

Every page under html/ must yield non-empty text; scrapinghub pages (human-annotated full text)
must keep a token F1 near trafilatura 2.3.1's baseline, trafilatura's snippet pages must contain at
least as many ``must_contain`` snippets as the baseline.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from monitor.config import FetchConfig
from monitor.feeds import parse_feed
from monitor.fetch import Fetcher
from monitor.text import extract_article
from tests.conftest import SHARED, shared_path
from tests.server import LocalServer

pytestmark = pytest.mark.realworld

REALWORLD = SHARED / "realworld"
F1_TOLERANCE = 0.05  # per page, below trafilatura 2.3.1's own score
F1_MEAN_FLOOR = 0.93  # the baseline's mean is 0.956


def _names(pattern: str) -> list[str | None]:
    """Files under realworld/ for parametrising; [None] when absent (the test then skips with a reason)."""
    found = sorted(str(p.relative_to(REALWORLD)) for p in REALWORLD.glob(pattern)
                   if not p.name.endswith(".expected.html")) if REALWORLD.exists() else []
    return list(found) or [None]


def _manifest() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in shared_path("realworld", "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 6:
            stats = {k: int(v) for k, v in re.findall(r"\b(entries|nodate)=(\d+)", cols[5])}
            if stats:
                out[cols[0]] = stats
    return out


def _baseline() -> dict[str, tuple[str, str]]:
    out = {}
    for line in shared_path("realworld", "TRAFILATURA_2.3.1_BASELINE.tsv").read_text().splitlines()[1:]:
        cols = line.split("\t")
        out[cols[0]] = (cols[1], cols[2])
    return out


@pytest.fixture(scope="module")
def feed_server():
    feeds = shared_path("realworld", "feeds")
    with LocalServer() as srv:
        for path in feeds.iterdir():
            ctype = "application/feed+json" if path.suffix == ".json" else "application/xml"
            srv.route(f"/feeds/{path.name}", gzip.compress(path.read_bytes()),
                      headers={"Content-Type": ctype, "Content-Encoding": "gzip"})
        yield srv


@pytest.fixture(scope="module")
def fetcher():
    with Fetcher(FetchConfig(max_bytes=5_000_000, timeout=20)) as f:
        yield f


def _expected_count(name: str, raw: bytes, manifest: dict[str, dict[str, int]]) -> int:
    if name.endswith(".json"):
        return len(json.loads(raw)["items"])
    if name.startswith("ODD_dylanharris"):
        return raw.count(b"<rss:item>")
    return manifest[f"feeds/{name}"]["entries"]


@pytest.mark.parametrize("rel", _names("feeds/*"))
def test_feed_fetched_and_parsed(rel, feed_server, fetcher):
    if rel is None:
        shared_path("realworld", "feeds")
    manifest = _manifest()
    name = Path(rel).name
    raw = (REALWORLD / rel).read_bytes()
    url = feed_server.url(f"/feeds/{name}")
    result = fetcher.get(url)  # a configured feed: loopback allowed
    assert result.body == raw  # gzip decoded by our bounded decoder
    feed = parse_feed(result.body, result.final_url, result.headers)
    expected = _expected_count(name, raw, manifest)
    assert len(feed.entries) == expected
    assert expected > 0 or name.startswith("ODD_")
    stats = manifest.get(f"feeds/{name}", {})
    nodate = sum(1 for e in feed.entries if e.published is None)
    assert nodate <= stats.get("nodate", len(feed.entries))
    for entry in feed.entries:
        assert entry.entry_id
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo is not None


def test_odd_feed_details(feed_server, fetcher):
    """The specific oddities the manifest describes come out right."""
    def get(name: str):
        result = fetcher.get(feed_server.url(f"/feeds/{name}"))
        return parse_feed(result.body, result.final_url, result.headers)

    tpm = get("talkingpointsmemo.atom.xml")  # relative links resolved against the feed's URL
    assert all(e.link.startswith(feed_server.url("/")) for e in tpm.entries)
    kc = get("ODD_kc0011-gb2312-odd-dates.rss.xml")  # "2020/1/10 14:33:00", misread by feedparser
    assert kc.entries[0].published.date().isoformat() == "2020-01-10"
    assert all(e.published.month == 1 for e in kc.entries)
    uol = get("ODD_uol-noticias-portuguese-dates.rss.xml")  # "Seg, 24 Set 2018"
    assert all(e.published and e.published.year == 2018 and e.published.month == 9 for e in uol.entries)
    utf16 = get("ODD_eliotjones-declares-utf16.rss.xml")  # declares utf-16, is utf-8
    assert utf16.entries[0].title.isprintable() and "\ufffd" not in utf16.entries[0].title
    kottke = get("kottke.atom.xml")  # titles type="html": plain text
    assert not any("<" in e.title and ">" in e.title for e in kottke.entries)
    assert all(isinstance(e.published, datetime) for e in kottke.entries)


def _tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def _f1(got: str, want: str) -> float:
    a, b = _tokens(got), _tokens(want)
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _index() -> dict[str, dict]:
    lines = shared_path("realworld", "html", "expected_index.jsonl").read_text().splitlines()
    return {(d := json.loads(line))["html"]: d for line in lines if line.strip()}


@pytest.mark.parametrize("rel", _names("html/**/*.html"))
def test_page_yields_text(rel):
    if rel is None:
        shared_path("realworld", "html")
    meta = _index().get(rel, {})
    article = extract_article((REALWORLD / rel).read_bytes(), meta.get("url"))
    assert article.text.strip() and article.source == "page"
    assert article.text.count("\ufffd") < 5


def test_scrapinghub_token_f1_near_baseline():
    baseline = _baseline()
    scores = {}
    for rel, meta in _index().items():
        if "/scrapinghub/" not in rel:
            continue
        text = extract_article((REALWORLD / rel).read_bytes(), meta["url"]).text
        scores[rel] = _f1(text, (REALWORLD / meta["expected_text_file"]).read_text(encoding="utf-8"))
    assert len(scores) >= 20
    worse = {rel: (round(s, 3), baseline[rel][1]) for rel, s in scores.items()
             if s < float(baseline[rel][1]) - F1_TOLERANCE}
    assert not worse, f"pages well below trafilatura's baseline: {worse}"
    assert sum(scores.values()) / len(scores) >= F1_MEAN_FLOOR


def test_trafilatura_snippets_at_least_baseline():
    baseline = _baseline()
    checked = 0
    for rel, meta in _index().items():
        if "/trafilatura/" not in rel:
            continue
        expected = json.loads((REALWORLD / rel.replace(".html", ".expected.json")).read_text(encoding="utf-8"))
        text = extract_article((REALWORLD / rel).read_bytes(), meta["url"]).text
        found = sum(snippet in text for snippet in expected["must_contain"])
        base_found = int(re.match(r"(\d+)/", baseline[rel][1]).group(1))
        assert found >= base_found, rel
        checked += 1
    assert checked >= 20
