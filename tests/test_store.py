"""The SQLite store on real files in tmp_path: migrations, feeds, entries, facts, alerts, outbox, FTS, WAL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts import alert_key, severity
from monitor.config import FeedConfig
from monitor.errors import StorageError
from monitor.store import Store
from monitor.store.migrations import LATEST, MIGRATIONS
from monitor.types import Article, EmissionChange, Evidence, Fact, FeedEntry, Investment, Source, Target

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
FEED = "http://127.0.0.1:9/feed.xml"


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "sub" / "pw.db") as s:
        yield s


def entry(n: int, feed: str = FEED, **kw) -> FeedEntry:
    return FeedEntry(feed_url=feed, entry_id=f"guid-{n}", link=f"http://news.example/{n}", title=f"Story {n}",
                     published=T0 - timedelta(hours=n), summary=f"summary {n}", **kw)


def change(company: str = "Acme Corp", value: float = 12.0, year: int | None = 2023,
           sentence: str = "Acme Corp said its emissions rose 12% in 2023.") -> EmissionChange:
    return EmissionChange(company=company, metric="ghg", direction="increase", value=value, unit="%",
                          base_year=None, year=year, status="reported",
                          evidence=Evidence(sentence, 10, 10 + len(sentence), 0.9))


def article(url: str = "http://news.example/1", text: str = "Acme Corp said its emissions rose 12% in 2023.",
            title: str = "Acme emissions climb") -> Article:
    return Article(url=url, title=title, text=text, published=T0, source="page", language="en")


def save(store: Store, n: int, facts: list[Fact], *, url: str | None = None, feed: str = FEED) -> int:
    rowid = store.add_entry(entry(n, feed), T0)
    assert rowid is not None
    return store.save_extraction(rowid, article(url or f"http://news.example/{n}"), facts, "test-1", T0)


# -- migrations -------------------------------------------------------------------------------

def test_migrations_from_empty_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "pw.db"
    with Store.open(path) as s:
        assert s.schema_version() == LATEST == max(m[0] for m in MIGRATIONS)
        rows = s.migrations()
    assert [r["version"] for r in rows] == [m[0] for m in MIGRATIONS]
    assert all(r["name"] and r["applied_at"] for r in rows)
    with Store.open(path) as s:
        assert s.migrations() == rows  # nothing re-applied, applied_at unchanged
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"feeds", "entries", "tombstones", "articles", "facts", "alerts", "alert_sources", "deliveries",
            "delivery_items", "articles_fts", "facts_fts", "emission_increases", "company_timeline",
            "latest_alerts", "facts_company"} <= names
    conn.close()


def _write_at_version(s: Store, version: int) -> None:
    """Data of every kind the schema at ``version`` holds (feeds and entries from 1, articles and
    facts from 2, alerts and deliveries from 3)."""
    s.sync_feeds([FeedConfig(FEED, name="Kept")], T0)
    rowid = s.add_entry(entry(1), T0)
    assert rowid is not None
    if version < 2:
        return
    fact = change()
    article_id = s.save_extraction(rowid, article(text="Zeppelin: " + fact.evidence.sentence),  # type: ignore[union-attr]
                                   [fact, Target("Acme Corp", "net zero", 2040)], "v-old", T0)
    if version < 3:
        return
    src = Source(url="http://news.example/1", title="Acme emissions climb", feed=FEED, published=T0,
                 sentence="Acme Corp said its emissions rose 12% in 2023.")
    alert_id, _ = s.record_alert(fact, key=alert_key(fact), article_id=article_id, source=src, now=T0,
                                 severity="normal")
    s.finish_delivery(s.begin_delivery("smtp", [alert_id], T0, "<m@test>"), T0, ok=True)


@pytest.mark.parametrize("start", [m[0] for m in MIGRATIONS[:-1]])
def test_migrates_from_each_earlier_version(tmp_path: Path, start: int) -> None:
    path = tmp_path / "pw.db"
    with Store.open(path, migrate_to=start) as s:
        assert s.schema_version() == start
        assert [m["version"] for m in s.migrations()] == [m[0] for m in MIGRATIONS if m[0] <= start]
        _write_at_version(s, start)  # data written at the old version survives
    with Store.open(path) as s:
        assert s.schema_version() == LATEST
        assert [m["version"] for m in s.migrations()] == [m[0] for m in MIGRATIONS]
        assert [f.name for f in s.feed_rows()] == ["Kept"]
        assert s.add_entry(entry(1), T0) is None  # still known: not fetched again
        if start >= 2:
            facts = s.facts(company="acme corp")
            assert sorted((r["type"], r["extractor_version"]) for r in facts) == [
                ("emission_change", "v-old"), ("target", "v-old")]
            assert {r["kind"] for r in s.search("zeppelin")} == {"article"}  # the FTS index covers old rows
            assert {r["kind"] for r in s.search("emissions rose")} == {"article", "fact"}
            assert [r["name"] for r in s.companies()] == ["Acme Corp"]
            assert s.query("SELECT COUNT(*) AS n FROM emission_increases")[0]["n"] == 1
        if start >= 3:
            (alert,) = s.alerts()
            assert alert.company == "Acme Corp" and [x.url for x in alert.sources] == ["http://news.example/1"]
            assert s.undelivered_alert_ids("smtp") == []  # sent before the upgrade: not sent again
            assert s.query("SELECT outlets FROM latest_alerts") == [{"outlets": 1}]


def test_open_error_names_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "a-directory.db"
    bad.mkdir()
    with pytest.raises(StorageError, match="a-directory.db"):
        Store.open(bad)


# -- feeds ------------------------------------------------------------------------------------

def test_sync_feeds_inserts_updates_and_deactivates(store: Store) -> None:
    store.sync_feeds([FeedConfig(FEED, name="One", tags=("a",)), FeedConfig("http://127.0.0.1:9/two")], T0)
    assert [f.url for f in store.due_feeds(T0)] == [FEED, "http://127.0.0.1:9/two"]
    store.sync_feeds([FeedConfig(FEED, name="Renamed", tags=("b", "c"), interval=30)], T0)
    rows = {f.url: f for f in store.feed_rows()}
    assert (rows[FEED].name, rows[FEED].tags, rows[FEED].interval) == ("Renamed", ("b", "c"), 30)
    assert rows["http://127.0.0.1:9/two"].active is False  # kept, not deleted
    assert [f.url for f in store.due_feeds(T0)] == [FEED]
    store.sync_feeds([FeedConfig(FEED), FeedConfig("http://127.0.0.1:9/two")], T0)
    assert len(store.due_feeds(T0)) == 2


def test_feed_ok_error_schedule_gone_and_retry_after(store: Store) -> None:
    other = "http://127.0.0.1:9/other"
    store.sync_feeds([FeedConfig(FEED), FeedConfig(other)], T0)
    store.record_feed_ok(FEED, T0, next_check=T0 + timedelta(hours=1), etag='"v1"', last_modified="Wed, 01 May",
                         entries_seen=7)
    f = store.get_feed(FEED)
    assert f is not None and (f.etag, f.entry_count, f.error_count, f.last_checked) == ('"v1"', 7, 0, T0)
    assert [x.url for x in store.due_feeds(T0 + timedelta(minutes=30))] == [other]
    assert len(store.due_feeds(T0 + timedelta(minutes=30), ignore_schedule=True)) == 2
    assert {x.url for x in store.due_feeds(T0 + timedelta(hours=1))} == {FEED, other}
    store.record_feed_ok(FEED, T0, next_check=T0, etag='"v1"', last_modified=None, not_modified=True)
    assert store.get_feed(FEED).entry_count == 7  # type: ignore[union-attr]

    for i in range(3):
        store.record_feed_error(FEED, T0, error=f"HTTP 503 #{i}", next_check=T0 + timedelta(hours=2),
                                retry_after_until=T0 + timedelta(hours=2))
    f = store.get_feed(FEED)
    assert f is not None and (f.error_count, f.last_error) == (3, "HTTP 503 #2")
    assert store.status()["feeds_failing"] == 1
    # a Retry-After in force is honoured even when the schedule is ignored
    assert [x.url for x in store.due_feeds(T0 + timedelta(hours=1), ignore_schedule=True)] == [other]
    store.record_feed_ok(FEED, T0, next_check=T0, etag=None, last_modified=None)
    assert store.get_feed(FEED).error_count == 0  # type: ignore[union-attr]

    store.record_feed_error(other, T0, error="HTTP 410 Gone", next_check=T0, gone=True)
    assert store.get_feed(other).gone  # type: ignore[union-attr]
    assert other not in {x.url for x in store.due_feeds(T0 + timedelta(days=9), ignore_schedule=True)}
    assert store.status()["feeds_gone"] == 1
    with pytest.raises(StorageError, match="no feed"):
        store.record_feed_error("http://127.0.0.1:9/unknown", T0, error="x", next_check=T0)


def test_permanent_redirect_replaces_url_and_keeps_dedup(store: Store) -> None:
    new = "http://127.0.0.1:9/moved.xml"
    store.sync_feeds([FeedConfig(FEED, name="Mover")], T0)
    assert store.add_entry(entry(1), T0) is not None
    # the poll that met the 301: entries arrive under the new URL before the move is recorded
    dup_rowid = store.add_entry(entry(1, new), T0)
    fresh = store.add_entry(entry(2, new), T0)
    store.record_feed_ok(FEED, T0, next_check=T0, etag=None, last_modified=None, new_url=new)
    assert [f.url for f in store.feed_rows()] == [new]
    assert store.get_feed(FEED).url == new  # type: ignore[union-attr]  # the old URL is an alias
    assert store.get_entry(dup_rowid) is None  # type: ignore[arg-type]  # the duplicate was dropped
    assert store.get_entry(fresh) is not None  # type: ignore[arg-type]
    assert store.add_entry(entry(1, new), T0) is None
    assert store.add_entry(entry(2, FEED), T0) is None
    # config still naming the old URL keeps the moved feed active
    store.sync_feeds([FeedConfig(FEED, name="Mover")], T0)
    assert [(f.url, f.active) for f in store.feed_rows()] == [(new, True)]
    store.record_feed_error(new, T0, error="boom", next_check=T0)
    assert store.get_feed(new).error_count == 1  # type: ignore[union-attr]


# -- entries ----------------------------------------------------------------------------------

def test_entry_dedup_including_tombstones(store: Store) -> None:
    store.sync_feeds([FeedConfig(FEED)], T0)
    first = store.add_entry(entry(1), T0)
    assert isinstance(first, int)
    assert store.add_entry(entry(1), T0) is None
    assert store.add_entry(entry(1, "http://127.0.0.1:9/another-feed"), T0) is not None  # per feed
    with sqlite3.connect(store.path) as conn:  # a purged entry leaves a tombstone
        conn.execute("INSERT INTO tombstones (feed_url, entry_id, deleted_at) VALUES (?, 'guid-9', ?)",
                     (FEED, T0.isoformat()))
    assert store.add_entry(entry(9), T0) is None
    row = store.get_entry(first)
    assert row is not None and row.entry == entry(1) and row.state == "new"


def test_pending_failed_retry_and_ignore_schedule(store: Store) -> None:
    ids = [rowid for n in range(1, 4) if (rowid := store.add_entry(entry(n), T0)) is not None]
    assert len(ids) == 3
    assert [r.id for r in store.pending_entries(T0)] == ids
    assert [r.id for r in store.pending_entries(T0, limit=2)] == ids[:2]
    store.mark_entry_failed(ids[0], T0, "HTTP 503", T0 + timedelta(minutes=15))
    store.mark_entry_failed(ids[0], T0, "HTTP 503 again", T0 + timedelta(minutes=30))
    store.save_extraction(ids[1], article(), [], "test-1", T0)
    store.mark_entry_alerted(ids[1], T0)
    assert [r.id for r in store.pending_entries(T0 + timedelta(minutes=29))] == [ids[2]]
    later = store.pending_entries(T0 + timedelta(minutes=30))
    assert [r.id for r in later] == [ids[0], ids[2]]
    failed = later[0]
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 2, "HTTP 503 again")
    # ignore_schedule retries every failed entry, but not one that failed in this very cycle
    assert [r.id for r in store.pending_entries(T0 + timedelta(seconds=1), ignore_schedule=True)] == [ids[0], ids[2]]
    assert [r.id for r in store.pending_entries(T0, ignore_schedule=True)] == [ids[2]]
    st = store.status()
    assert (st["entries_failed"], st["entries_alerted"], st["entries_new"], st["queue"]) == (1, 1, 1, 1)


# -- articles and facts -----------------------------------------------------------------------

def test_save_extraction_round_trip(store: Store) -> None:
    facts: list[Fact] = [change(),
             Investment("Acme Corp", 2.5e9, "USD", "offshore wind", 2030, "announced",
                        Evidence("Acme will invest $2.5 billion in offshore wind by 2030.", 50, 105, 0.7)),
             Target("Acme Corp", "net-zero carbon emissions", 2040,
                    Evidence("Acme aims for net-zero carbon emissions by 2040.", 106, 154, 0.8))]
    rowid = store.add_entry(entry(1), T0)
    assert rowid is not None
    article_id = store.save_extraction(rowid, article(), facts, "extractor-7", T0)
    assert store.get_entry(rowid).state == "extracted"  # type: ignore[union-attr]
    stored = store.get_article(article_id)
    assert stored is not None and stored["language"] == "en" and len(stored["content_hash"]) == 64
    rows = store.facts(company="acme corp")
    assert sorted(r["type"] for r in rows) == ["emission_change", "investment", "target"]
    by_type = {r["type"]: r for r in rows}
    ec = by_type["emission_change"]
    assert (ec["metric"], ec["direction"], ec["value"], ec["unit"], ec["year"], ec["status"]) == \
        ("ghg", "increase", 12.0, "%", 2023, "reported")
    assert ec["evidence"] == "Acme Corp said its emissions rose 12% in 2023."
    assert (ec["evidence_start"], ec["confidence"], ec["extractor_version"]) == (10, 0.9, "extractor-7")
    assert ec["url"] == "http://news.example/1" and ec["title"] == "Acme emissions climb"
    inv = by_type["investment"]
    assert (inv["amount"], inv["currency"], inv["purpose"], inv["by_year"]) == (2.5e9, "USD", "offshore wind", 2030)
    assert by_type["target"]["goal"] == "net-zero carbon emissions"
    assert [r["type"] for r in store.facts(type="investment")] == ["investment"]
    assert store.facts(company="Globex") == []
    assert store.facts(since=T0 + timedelta(days=1)) == []
    assert len(store.facts(until=T0 + timedelta(days=1), limit=2)) == 2
    # saving again (a crash before 'alerted', or a reprocess) replaces, never duplicates
    again = store.save_extraction(rowid, article(), facts[:1], "extractor-8", T0)
    assert again == article_id
    assert [r["extractor_version"] for r in store.facts()] == ["extractor-8"]
    assert store.status()["facts"] == 1
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM company_timeline").fetchone()[0] == 1
        assert conn.execute("SELECT company, value FROM emission_increases").fetchall() == [("Acme Corp", 12.0)]


# -- retention --------------------------------------------------------------------------------

def test_purge_old_text_keeps_facts_evidence_alerts_and_tombstones(tmp_path: Path) -> None:
    from dataclasses import replace

    from click.testing import CliRunner

    from monitor.cli import cli
    from monitor.config import load_config
    from monitor.service import Service

    path = tmp_path / "pw.db"
    old_text = "Zeppelin Air said its emissions rose 12% in 2023. The airship fleet grew."
    with Store.open(path) as s:
        old_row = s.add_entry(entry(1), T0 - timedelta(days=40))
        new_row = s.add_entry(entry(2), T0 - timedelta(days=1))
        assert old_row is not None and new_row is not None
        fact = change(company="Zeppelin Air", sentence="Zeppelin Air said its emissions rose 12% in 2023.")
        old_id = s.save_extraction(old_row, article(text=old_text), [fact], "t", T0 - timedelta(days=40))
        new_id = s.save_extraction(new_row, article(url="http://news.example/2", text="Recent airship news."),
                                   [], "t", T0 - timedelta(days=1))
        src = Source(url="http://news.example/1", title="Zeppelin", feed=FEED, published=T0,
                     sentence=fact.evidence.sentence)  # type: ignore[union-attr]
        s.record_alert(fact, key=alert_key(fact), article_id=old_id, source=src, now=T0, severity="normal")
        s.mark_entry_alerted(old_row, T0 - timedelta(days=40))
    cfg = load_config(None, db=path)
    cfg = replace(cfg, storage=replace(cfg.storage, retention_days=30))
    with Service(cfg) as svc:
        assert svc.purge_old_text(T0) == 1
        assert svc.purge_old_text(T0) == 0  # already purged
        assert svc.purge_old_text(T0, days=0) == 0  # 0 days: keep for ever
        store = svc.store
        old, new = store.get_article(old_id), store.get_article(new_id)
        assert old is not None and new is not None
        assert old["text"] == "" and old["text_purged_at"] and old["title"] == "Acme emissions climb"
        assert new["text"] == "Recent airship news." and new["text_purged_at"] is None
        (kept,) = store.facts(company="zeppelin air")
        assert kept["evidence"] == "Zeppelin Air said its emissions rose 12% in 2023." and kept["evidence_start"] == 10
        # the article text left the search index; the evidence sentence did not
        assert {r["kind"] for r in store.search("airship fleet")} == set()
        assert {r["kind"] for r in store.search("zeppelin emissions")} == {"fact"}
        (alert,) = store.alerts()
        assert alert.sources[0].sentence == "Zeppelin Air said its emissions rose 12% in 2023."
        assert store.add_entry(entry(1), T0) is None  # the entry is still known: never fetched again
    result = CliRunner().invoke(cli, ["purge", "--db", str(path), "--days", "1"], env={"PLEDGEWATCH_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "purged the text of 1 article older than 1 day"
    with Store.open_readonly(path) as ro:
        assert ro.get_article(new_id)["text"] == ""  # type: ignore[index]
    result = CliRunner().invoke(cli, ["purge", "--db", str(path)], env={"PLEDGEWATCH_CONFIG": ""})
    assert result.exit_code == 2 and "retention_days" in result.stderr


# -- alerts -----------------------------------------------------------------------------------

def record(store: Store, fact: EmissionChange, article_id: int, url: str, now: datetime = T0):
    src = Source(url=url, title=f"Report at {url}", feed=FEED, published=T0,
                 sentence=fact.evidence.sentence if fact.evidence else "")
    return store.record_alert(fact, key=alert_key(fact), article_id=article_id, source=src, now=now,
                              severity=severity(fact.value, fact.unit, 1))


def test_same_change_from_three_outlets_is_one_alert_with_three_sources(store: Store) -> None:
    urls = ["https://www.reuters.example/acme", "https://bloomberg.example/a/acme", "https://ft.example/acme-co2"]
    results = []
    for n, url in enumerate(urls, start=1):
        fact = change(value=12.0 + n / 100, sentence=f"Outlet {n}: Acme's emissions rose 12% in 2023.")
        results.append(record(store, fact, save(store, n, [fact], url=url), url))
    ids = {alert_id for alert_id, _ in results}
    assert len(ids) == 1 and [created for _, created in results] == [True, False, False]
    # the same URL again, and another story from an outlet already counted, add nothing
    assert record(store, change(), save(store, 4, [change()], url=urls[0]), urls[0]) == (results[0][0], False)
    record(store, change(), save(store, 5, [change()]), "https://reuters.example/other-story")
    (alert,) = store.alerts()
    assert [s.url for s in alert.sources] == urls
    assert alert.sources[1].sentence.startswith("Outlet 2")
    assert (alert.company, alert.value, alert.year, alert.key) == ("Acme Corp", 12.01, 2023, alert_key(change()))
    assert alert.severity == "high"  # 12% is normal; three outlets raise it
    assert alert.contradiction is None


def test_contradiction_flags_both_alerts(store: Store) -> None:
    a_id, _ = record(store, change(value=12.0), save(store, 1, [change()]), "https://one.example/a")
    b_id, created = record(store, change(value=15.0), save(store, 2, [change()]), "https://two.example/b")
    other_year, _ = record(store, change(value=30.0, year=2021), save(store, 3, [change()]), "https://three.example/c")
    assert created and a_id != b_id
    alerts = {a.id: a for a in store.alerts()}
    assert alerts[a_id].contradiction is not None and "15%" in alerts[a_id].contradiction  # type: ignore[operator]
    assert alerts[b_id].contradiction is not None and "12%" in alerts[b_id].contradiction  # type: ignore[operator]
    assert alerts[other_year].contradiction is None


def test_alert_pledges_and_filters(store: Store) -> None:
    pledge = Target("ACME CORP", "net-zero carbon emissions", 2040)
    article_id = save(store, 1, [change(), pledge])
    alert_id, _ = record(store, change(), article_id, "https://one.example/a", now=T0)
    record(store, change(company="Globex"), save(store, 2, []), "https://two.example/b", now=T0 + timedelta(days=2))
    alerts = store.alerts()
    assert alerts[0].pledges == ("net-zero carbon emissions by 2040",) and alerts[1].pledges == ()
    assert [a.company for a in store.alerts(since=T0 + timedelta(days=1))] == ["Globex"]
    assert len(store.alerts(limit=1)) == 1
    store.finish_delivery(store.begin_delivery("smtp", [alert_id], T0, "<m1@pw>"), T0, ok=True)
    assert [a.company for a in store.alerts(undelivered_channel="smtp")] == ["Globex"]


# -- deliveries (outbox) ----------------------------------------------------------------------

def test_outbox_exactly_once_bookkeeping(store: Store) -> None:
    ids = [record(store, change(company=c), save(store, n, []), f"https://{n}.example/x")[0]
           for n, c in enumerate(["Acme", "Globex", "Initech"], start=1)]
    assert store.undelivered_alert_ids("smtp") == ids
    d1 = store.begin_delivery("smtp", ids[:2], T0, "<d1@pw>")
    # written before sending: being sent means not undelivered, and cannot be sent twice
    assert store.undelivered_alert_ids("smtp") == ids[2:]
    with pytest.raises(StorageError, match="already sent"):
        store.begin_delivery("smtp", ids[:1], T0, "<dup@pw>")
    store.finish_delivery(d1, T0, ok=False, error="SMTP down")
    assert store.undelivered_alert_ids("smtp") == ids
    assert store.undelivered_alert_ids("smtp", now=T0 + timedelta(minutes=5)) == ids[2:]  # backing off
    assert store.undelivered_alert_ids("smtp", now=T0 + timedelta(minutes=15)) == ids
    assert store.status()["delivery_items_failed"] == 2
    d2 = store.begin_delivery("smtp", ids, T0, "<d2@pw>")
    store.finish_delivery(d2, T0, ok=True)
    assert store.undelivered_alert_ids("smtp") == []
    assert store.undelivered_alert_ids("file") == ids  # channels are independent
    with pytest.raises(StorageError):
        store.begin_delivery("smtp", ids[1:2], T0, "<again@pw>")
    # a crash between sending and recording: stuck, not resent, until settled
    d3 = store.begin_delivery("file", ids, T0, "<d3@pw>")
    with Store.open(store.path) as reopened:
        assert [(d.id, d.alert_ids, d.message_id) for d in reopened.stuck_deliveries("file")] == \
            [(d3, tuple(ids), "<d3@pw>")]
        assert reopened.undelivered_alert_ids("file") == []
        assert reopened.status(channels=["smtp", "file"])["deliveries_stuck"] == 1
        reopened.resolve_stuck_delivery(d3, T0, delivered=False)
        assert reopened.undelivered_alert_ids("file") == ids
        assert reopened.stuck_deliveries() == []
    st = store.status(channels=["smtp", "file"])
    assert (st["undelivered_smtp"], st["undelivered_file"], st["alerts"]) == (0, 3, 3)


# -- search, views, read-only -----------------------------------------------------------------

def test_fts_search_articles_and_evidence(store: Store) -> None:
    rowid = store.add_entry(entry(1), T0)
    assert rowid is not None
    text = "Globex opened a desalination plant. Its water consumption climbed sharply in the drought."
    store.save_extraction(rowid, article(text=text, title="Globex water use"),
                          [change(company="Globex", sentence="Globex said scope 3 emissions soared.")], "t", T0)
    hits = store.search("desalination")
    assert [h["kind"] for h in hits] == ["article"] and "[desalination]" in hits[0]["snippet"]
    assert hits[0]["url"] == "http://news.example/1"
    assert [h["kind"] for h in store.search("soared")] == ["fact"]
    assert store.search("nothing-like-this-word") == []
    assert store.search('"unbalanced OR NEAR(') == []  # user text is never FTS syntax
    assert store.search("") == []


def test_readonly_store_refuses_writes(store: Store) -> None:
    store.sync_feeds([FeedConfig(FEED)], T0)
    with Store.open_readonly(store.path) as ro:
        assert ro.query("SELECT url FROM feeds") == [{"url": FEED}]
        for sql in ["DELETE FROM feeds", "INSERT INTO meta VALUES ('a', 'b')", "DROP TABLE feeds",
                    "PRAGMA journal_mode = DELETE", "ATTACH DATABASE ':memory:' AS x", "UPDATE feeds SET name = 'x'"]:
            with pytest.raises(StorageError):
                ro.query(sql)
    assert [f.url for f in store.feed_rows()] == [FEED]


# -- concurrency (WAL) ------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from monitor.store import Store
    from monitor.types import Article, FeedEntry

    now = datetime(2024, 5, 1, tzinfo=UTC)
    with Store.open(Path(sys.argv[1])) as s:
        for n in range(int(sys.argv[2])):
            rowid = s.add_entry(FeedEntry("http://127.0.0.1:9/f", f"g{n}", None, f"t{n}"), now)
            s.save_extraction(rowid, Article(None, f"t{n}", "text " * 200), [], "w", now)
    print("done")
""")


def test_reader_sees_consistent_snapshots_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "pw.db"
    Store.open(path).close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "300"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    with Store.open(path) as reader:
        deadline = time.monotonic() + 60
        while writer.poll() is None and time.monotonic() < deadline:
            st = reader.status()
            # within one read transaction an extracted entry always has its article
            assert st["articles"] == st["entries_extracted"]
            seen.append(st["articles"])
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        final = reader.status()
    assert out.strip() == "done"
    assert final["articles"] == final["entries_extracted"] == 300
    assert seen == sorted(seen) and len(seen) > 1  # the reader ran during the writes, never going back
