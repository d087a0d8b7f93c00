"""An entry the feed updates is fetched and extracted again, only when its content changed, and its
change never alerts twice (real Service, real extractor, real HTTP on loopback, SQLite in tmp)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import config_from_dict
from monitor.service import Service
from tests.server import LocalServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paras}</article></body></html>")


def rss(title: str, summary: str, link: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
            "<link>http://example.invalid/</link><description>d</description>"
            f"<item><title>{title}</title><link>{link}</link><guid>story-1</guid><description>{summary}</description>"
            "<pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate></item></channel></rss>")


def serve(server: LocalServer, title: str, summary: str, paras: list[str]) -> None:
    html = PAGE.format(title=title, paras="".join(f"<p>{p}</p>" for p in paras))
    server.route("/story-1", html, headers={"Content-Type": "text/html; charset=utf-8"})
    server.route("/feed.xml", rss(title, summary, server.url("/story-1")),
                 headers={"Content-Type": "application/rss+xml"})


@pytest.fixture(scope="module")
def extractor():
    from monitor.extract import Extractor

    return Extractor.load()


def cycle(svc: Service, now: datetime) -> None:
    report = svc.run_cycle(now, ignore_schedule=True, send_digests=False)
    assert not report.errors, report.errors


FILLER = ["The company reported its annual results in Frankfurt on Monday, alongside its sustainability report.",
          "Executives said demand for long-haul travel had recovered across Asia and North America."]


def test_updated_entry_is_extracted_again_and_alerts_once(tmp_path: Path, extractor) -> None:
    with LocalServer() as server:
        serve(server, "Lufthansa emissions rise", "Emissions rose.",
              ["Lufthansa said its greenhouse gas emissions rose 5% in 2025.", *FILLER])
        cfg = config_from_dict({"storage": {"path": str(tmp_path / "pw.db")},
                                "fetch": {"allow_private_addresses": True},
                                "feeds": [{"url": server.url("/feed.xml")}]})
        svc = Service(cfg, extractor=extractor)
        cycle(svc, T0)
        assert [(a.company, a.value) for a in svc.store.alerts()] == [("Lufthansa", 5.0)]
        fetches = len([r for r in server.requests if r.path == "/story-1"])

        # the same feed again: nothing is fetched or extracted again
        cycle(svc, T0 + timedelta(hours=2))
        assert len([r for r in server.requests if r.path == "/story-1"]) == fetches

        # the outlet corrects the story: the entry's summary and the page change
        serve(server, "Lufthansa emissions rise", "Emissions rose more than first reported.",
              ["Lufthansa said its greenhouse gas emissions rose 7% in 2025.", *FILLER])
        cycle(svc, T0 + timedelta(hours=4))
        assert len([r for r in server.requests if r.path == "/story-1"]) == fetches + 1
        values = [f["value"] for f in svc.store.facts(company="Lufthansa")]
        assert values == [7.0]  # the article's facts are replaced, not added to
        alerts = sorted((a.company, a.value) for a in svc.store.alerts())
        assert alerts == [("Lufthansa", 5.0), ("Lufthansa", 7.0)]

        # and once more unchanged: no third extraction, no alert repeated
        cycle(svc, T0 + timedelta(hours=6))
        assert len([r for r in server.requests if r.path == "/story-1"]) == fetches + 1
        assert sorted((a.company, a.value) for a in svc.store.alerts()) == alerts
        assert len(svc.store.query("SELECT * FROM articles")) == 1
        svc.close()
