"""Polling through the service against a real loopback server: schedules, 304, 301/302, 410,
429, HTML instead of a feed, tombstones; and the `feeds` commands end to end (CliRunner, tmp DB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config, FeedConfig, FetchConfig, ScheduleConfig, StorageConfig
from monitor.service import CycleReport, Service
from tests.conftest import shared_path
from tests.server import Request, Response

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def rss(items: int = 3, *, ttl: int | None = None, gap_hours: int = 3, start: datetime = T0) -> bytes:
    parts = [f"<item><title>Story {i}</title><link>https://news.example/story/{i}</link><guid>id-{i}</guid>"
             f"<pubDate>{format_datetime(start - timedelta(hours=gap_hours * i))}</pubDate>"
             "<description>Text.</description></item>" for i in range(items)]
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://news.example/</link>'
            f"{ttl_tag}{''.join(parts)}</channel></rss>").encode()


def make_service(tmp_path: Path, *urls: str, **schedule: int) -> Service:
    cfg = Config(storage=StorageConfig(path=tmp_path / "pw.db"),
                 fetch=FetchConfig(timeout=5.0, connect_timeout=2.0),
                 schedule=ScheduleConfig(**schedule),
                 feeds=tuple(FeedConfig(url=u) for u in urls))
    svc = Service(cfg)
    svc.store.sync_feeds(cfg.feeds, T0)
    return svc


def poll(svc: Service, now: datetime, *, ignore_schedule: bool = False) -> CycleReport:
    report = CycleReport()
    svc.poll_due_feeds(now, report, ignore_schedule=ignore_schedule)
    return report


def test_304_keeps_entries_and_etag_last_modified_round_trip(tmp_path, http_server):
    seen: list[Request] = []

    def handler(req: Request) -> Response:
        seen.append(req)
        if req.headers.get("if-none-match") == '"v1"' and req.headers.get("if-modified-since"):
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, rss(), {"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 11:00:00 GMT",
                                     "Content-Type": "application/rss+xml"})

    http_server.route("/feed", handler=handler)
    url = http_server.url("/feed")
    with make_service(tmp_path, url) as svc:
        first = poll(svc, T0)
        assert (first.feeds_polled, first.entries_new, first.feeds_failed) == (1, 3, 0)
        row = svc.store.get_feed(url)
        assert (row.etag, row.last_modified, row.entry_count) == ('"v1"', "Wed, 01 May 2024 11:00:00 GMT", 3)
        again = poll(svc, T0 + timedelta(hours=5))
        assert (again.feeds_polled, again.entries_new, again.feeds_failed) == (1, 0, 0)
        row = svc.store.get_feed(url)
        assert row.entry_count == 3 and row.error_count == 0
        # the 304 was scheduled from the stored entries' rhythm (3 h), not the 60 min default
        assert row.next_check - (T0 + timedelta(hours=5)) > timedelta(hours=2, minutes=30)
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[1].headers["if-modified-since"] == "Wed, 01 May 2024 11:00:00 GMT"


def test_schedule_follows_publishing_rhythm_ttl_and_max_age(tmp_path, http_server):
    http_server.route("/hourly", rss(8, gap_hours=1))
    http_server.route("/ttl", rss(2, ttl=300))
    http_server.route("/cached", rss(2), headers={"Cache-Control": "max-age=14400"})
    urls = [http_server.url(p) for p in ("/hourly", "/ttl", "/cached")]
    with make_service(tmp_path, *urls, poll_interval=30, min_interval=15, max_interval=1440) as svc:
        poll(svc, T0)
        delays = [svc.store.get_feed(u).next_check - T0 for u in urls]
    assert timedelta(minutes=54) <= delays[0] <= timedelta(minutes=66)  # publishes hourly, +-10 %
    assert delays[1] >= timedelta(minutes=300)  # never before <ttl>
    assert delays[2] >= timedelta(hours=4)  # never before max-age


def test_301_moves_the_feed_for_good_and_302_does_not(tmp_path, http_server):
    http_server.route("/old", status=301, headers={"Location": "/new"})
    http_server.route("/new", rss())
    http_server.route("/temp", status=302, headers={"Location": "/elsewhere"})
    http_server.route("/elsewhere", rss())
    old, temp = http_server.url("/old"), http_server.url("/temp")
    with make_service(tmp_path, old, temp) as svc:
        assert poll(svc, T0).feeds_failed == 0
        assert svc.store.get_feed(old).url == http_server.url("/new")
        assert svc.store.get_feed(temp).url == temp
        # the next poll goes straight to the new URL; entries are not duplicated
        before = http_server.hits("/old")
        assert poll(svc, T0 + timedelta(days=2)).entries_new == 0
        assert http_server.hits("/old") == before


def test_410_gone_is_never_polled_again_even_ignoring_the_schedule(tmp_path, http_server):
    http_server.route("/gone", status=410)
    url = http_server.url("/gone")
    with make_service(tmp_path, url) as svc:
        assert poll(svc, T0).feeds_failed == 1
        row = svc.store.get_feed(url)
        assert row.gone and "410" in row.last_error
        assert poll(svc, T0 + timedelta(days=30), ignore_schedule=True).feeds_polled == 0
    assert http_server.hits("/gone") == 1
    out = CliRunner().invoke(cli, ["status", "--db", str(tmp_path / "pw.db")])
    assert out.exit_code == 0, out.output
    assert "gone" in out.output and "410" in out.output


def test_429_retry_after_is_honoured_even_ignoring_the_schedule(tmp_path, http_server):
    http_server.route("/busy", status=429, headers={"Retry-After": "7200"})
    url = http_server.url("/busy")
    with make_service(tmp_path, url) as svc:
        poll(svc, T0)
        row = svc.store.get_feed(url)
        assert row.retry_after_until == T0 + timedelta(hours=2)
        assert row.next_check >= T0 + timedelta(hours=2)
        assert poll(svc, T0 + timedelta(hours=1), ignore_schedule=True).feeds_polled == 0
        assert poll(svc, T0 + timedelta(hours=3), ignore_schedule=True).feeds_polled == 1
    assert http_server.hits("/busy") == 2


def test_errors_back_off_exponentially_to_the_cap_and_keep_being_tried(tmp_path, http_server):
    http_server.route("/down", status=500)
    url = http_server.url("/down")
    waits = []
    with make_service(tmp_path, url, poll_interval=60, max_backoff=240) as svc:
        now = T0
        for _ in range(6):
            assert poll(svc, now).feeds_polled == 1  # always tried again once due
            row = svc.store.get_feed(url)
            waits.append(row.next_check - now)
            now = row.next_check
        assert row.error_count == 6 and not row.gone
    assert waits[1] > waits[0] * 1.5 and waits[2] > waits[1] * 1.5
    assert all(w <= timedelta(minutes=240) for w in waits) and waits[-1] >= timedelta(minutes=216)


def test_html_page_where_a_feed_was_expected_is_an_error_on_that_feed_only(tmp_path, http_server):
    http_server.route("/page", b'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
                               b'href="/feed"></head><body>Hi</body></html>', headers={"Content-Type": "text/html"})
    http_server.route("/feed", rss())
    page, feed = http_server.url("/page"), http_server.url("/feed")
    with make_service(tmp_path, page, feed) as svc:
        report = poll(svc, T0)
        assert (report.feeds_polled, report.feeds_failed, report.entries_new) == (2, 1, 3)
        row = svc.store.get_feed(page)
        assert "HTML page, not a feed" in row.last_error and feed in row.last_error
        assert row.error_count == 1


def test_pruned_entries_leave_tombstones_and_are_never_ingested_again(tmp_path, http_server):
    http_server.route("/feed", rss(3))
    url = http_server.url("/feed")
    with make_service(tmp_path, url) as svc:
        assert poll(svc, T0).entries_new == 3
        ids = [r.id for r in svc.store.pending_entries(T0)]
        for rowid in ids:
            svc.store.mark_entry_alerted(rowid, T0)
        assert svc.store.prune_entries(T0 + timedelta(days=1), T0 + timedelta(days=1)) == 3
        assert svc.store.tombstone_count() == 3
        assert svc.store.stored_entry_counts()[url] == 0
        assert poll(svc, T0 + timedelta(days=2), ignore_schedule=True).entries_new == 0  # still in the feed


def test_purged_article_text_leaves_tombstones(tmp_path, http_server):
    from monitor.types import Article

    http_server.route("/feed", rss(2))
    url = http_server.url("/feed")
    with make_service(tmp_path, url) as svc:
        poll(svc, T0)
        for row in svc.store.pending_entries(T0):
            svc.store.save_extraction(row.id, Article(url=row.entry.link, title=row.entry.title, text="Body."),
                                      [], "test", T0)
        assert svc.store.purge_article_text(T0 + timedelta(days=1), T0 + timedelta(days=1)) == 2
        assert svc.store.tombstone_count() == 2


# -- feeds commands end to end -----------------------------------------------------------------

def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_feeds_add_list_remove_and_config_feeds(tmp_path, http_server):
    config = tmp_path / "config.toml"
    config.write_text('[[feeds]]\nurl = "https://configured.example/feed"\nname = "Configured"\n')
    db = tmp_path / "pw.db"
    base = ["--config", str(config), "--db", str(db)]
    assert "added" in invoke("feeds", "add", "https://user.example/rss", "--name", "Mine", "--tag", "esg", *base)
    assert "already watched" in invoke("feeds", "add", "https://user.example/rss", *base)
    rows = {r["url"]: r for r in json.loads(invoke("feeds", "list", "--format", "json", *base))}
    assert rows["https://configured.example/feed"]["origin"] == "config"
    assert (rows["https://user.example/rss"]["origin"], rows["https://user.example/rss"]["tags"]) == ("user", ["esg"])
    # a cycle's config sync does not deactivate the user's feed
    with Service(Config(storage=StorageConfig(path=db), feeds=(FeedConfig("https://configured.example/feed"),))) as s:
        s.store.sync_feeds(s.cfg.feeds, T0)
        assert s.store.get_feed("https://user.example/rss").active
    refused = CliRunner().invoke(cli, ["feeds", "remove", "https://configured.example/feed", *base])
    assert refused.exit_code != 0 and "config.toml" in refused.output and "[[feeds]]" in refused.output
    unknown = CliRunner().invoke(cli, ["feeds", "remove", "https://nobody.example/", *base])
    assert unknown.exit_code != 0 and "not watched" in unknown.output
    assert "removed" in invoke("feeds", "remove", "https://user.example/rss", *base)
    listed = json.loads(invoke("feeds", "list", "--format", "json", *base))
    assert [r["url"] for r in listed] == ["https://configured.example/feed"]
    assert "again" in invoke("feeds", "add", "https://user.example/rss", *base)
    bad = CliRunner().invoke(cli, ["feeds", "add", "file:///etc/passwd", *base])
    assert bad.exit_code != 0 and "http" in bad.output


def test_import_opml_then_export_opml_round_trip(tmp_path):
    opml = shared_path("realworld", "opml", "plenary_tech.opml")
    db = str(tmp_path / "pw.db")
    out = invoke("feeds", "import-opml", str(opml), "--db", db)
    assert "26 feeds listed, 26 added" in out
    assert "0 added, 0 watched again, 26 already watched" in invoke("feeds", "import-opml", str(opml), "--db", db)
    listed = json.loads(invoke("feeds", "list", "--format", "json", "--db", db))
    assert len(listed) == 26 and all(r["tags"] == ["Tech"] for r in listed)
    exported = tmp_path / "out.opml"
    invoke("feeds", "export-opml", "-o", str(exported), "--db", db)
    again = str(tmp_path / "again.db")
    assert "26 added" in invoke("feeds", "import-opml", str(exported), "--db", again)
    assert {r["url"] for r in json.loads(invoke("feeds", "list", "--format", "json", "--db", again))} == \
        {r["url"] for r in listed}


def test_feeds_discover_finds_advertised_feeds_and_common_paths_and_adds(tmp_path, http_server):
    http_server.route("/blog", b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom">'
                               b'<link rel="alternate" type="application/rss+xml" href="/broken"></head></html>',
                      headers={"Content-Type": "text/html"})
    http_server.route("/atom", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog'
                               b'</title><entry><title>x</title><id>urn:1</id><link href="/p/1"/></entry></feed>',
                      headers={"Content-Type": "application/atom+xml"})
    http_server.route("/broken", b"<html>not a feed</html>", headers={"Content-Type": "text/html"})
    http_server.route("/bare", b"<html><head><title>no links</title></head></html>")
    http_server.route("/rss.xml", rss(2))
    db = str(tmp_path / "pw.db")
    out = json.loads(invoke("feeds", "discover", http_server.url("/blog"), "--format", "json", "--db", db))
    assert out == [{"url": http_server.url("/atom"), "title": "Blog", "entries": 1, "found_by": "link rel=alternate"}]
    found = json.loads(invoke("feeds", "discover", http_server.url("/bare"), "--format", "json", "--add", "--db", db))
    assert [(d["url"], d["found_by"]) for d in found] == [(http_server.url("/rss.xml"), "common path")]
    listed = json.loads(invoke("feeds", "list", "--format", "json", "--db", db))
    assert [r["url"] for r in listed] == [http_server.url("/rss.xml")]
    del http_server.routes["/rss.xml"]
    none = CliRunner().invoke(cli, ["feeds", "discover", http_server.url("/broken"), "--db", db])
    assert none.exit_code == 1 and "no feed found" in none.output
