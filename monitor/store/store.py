"""The SQLite store: the only SQL in Pledgewatch.

One ``Store`` wraps one ``sqlite3`` connection in autocommit mode; every write method is one
``BEGIN IMMEDIATE ... COMMIT`` transaction, every multi-statement read one deferred
transaction (a consistent snapshot under WAL). The database runs in WAL mode with a busy
timeout, so readers (``pledgewatch query``, Datasette, ``sqlite-utils``) work while the daemon
writes. Text from the web only ever reaches SQL as parameters. ``sqlite3.Error`` becomes
``StorageError`` naming the database file.

Times are stored as ISO-8601 text in UTC with microseconds (``2024-05-01T08:00:00.000000+00:00``)
so that they compare correctly as strings; naive datetimes are taken to be UTC.

Entry states (committed, in order): ``new`` -> ``fetched`` -> ``extracted`` -> ``alerted``, or
``failed`` (with ``attempts`` and ``next_try``). ``pending_entries`` returns ``new``, ``fetched``
and ``extracted`` entries (the last two are left only by a crash, and redoing them is safe:
``save_extraction`` replaces an entry's article facts and ``record_alert`` merges by key and
source) and failed entries whose ``next_try`` has come.

Delivery policy (the outbox, alert x channel): ``begin_delivery`` commits state ``sending``
before anything is sent, ``finish_delivery`` commits ``sent`` or ``failed`` (with back-off)
after. An item still ``sending`` when the store is next opened was left by a crash between
sending and recording: it may have been delivered, so it is *not* resent automatically (no
repeat); ``stuck_deliveries`` lists it for ``status`` and an operator (or a channel that can
check, e.g. by Message-ID) settles it with ``resolve_stuck_delivery``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.alerts import SEVERITIES, fact_period, investment_severity
from monitor.alerts import severity as alert_severity
from monitor.config import FeedConfig
from monitor.errors import StorageError
from monitor.store.migrations import LATEST, migrate
from monitor.types import Alert, Article, EmissionChange, Fact, FeedEntry, Investment, Source, Target

if TYPE_CHECKING:
    from monitor.clusters import Assignment, Candidate

BUSY_TIMEOUT_MS = 5000
DELIVERY_RETRY_BASE = timedelta(minutes=15)
DELIVERY_RETRY_MAX = timedelta(hours=24)
ENTRY_STATES = ("new", "fetched", "extracted", "alerted", "failed")
FACT_TYPES = ("emission_change", "investment", "target")


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One watched feed and its polling state."""

    url: str
    name: str
    tags: tuple[str, ...]
    interval: int | None
    etag: str | None
    last_modified: str | None
    last_checked: datetime | None
    next_check: datetime | None
    last_error: str | None
    error_count: int
    gone: bool
    entry_count: int  # entries in the feed document at the last successful poll
    active: bool = True
    retry_after_until: datetime | None = None
    config_url: str = ""
    last_ok: datetime | None = None
    origin: str = "config"  # "config" ([[feeds]]) or "user" (feeds add / import-opml)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A stored feed entry with its processing state."""

    id: int
    feed_url: str
    entry: FeedEntry
    state: str
    attempts: int
    last_error: str | None
    next_try: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One send of a digest on a channel (the outbox's header row)."""

    id: int
    channel: str
    message_id: str
    state: str
    alert_ids: tuple[int, ...]
    created_at: datetime
    finished_at: datetime | None
    error: str | None


class Store:
    """Pledgewatch's SQLite database: feeds, entries, articles, facts, alerts, deliveries."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.readonly = readonly
        self._lock = threading.RLock()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, migrate_to: int | None = None) -> Store:
        """Open (creating the folder and file) and migrate the database at ``path``.

        ``migrate_to`` stops at an earlier schema version (for tests of upgrades).
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"{path}: cannot create the database folder: {e}") from e
        conn = _connect(path, readonly=False)
        try:
            migrate(conn, target=migrate_to)
        except sqlite3.Error as e:
            conn.close()
            raise StorageError(f"{path}: cannot migrate the database: {e}") from e
        return cls(conn, path)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Store:
        """Open an existing database read-only (``query_only``; ATTACH and PRAGMA refused)."""
        path = Path(path)
        if not path.exists():
            raise StorageError(f"{path}: no such database (run `pledgewatch init` first)")
        conn = _connect(path, readonly=True)
        conn.set_authorizer(_readonly_authorizer)
        return cls(conn, path, readonly=True)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The highest migration recorded in ``_migrations`` (0 for an empty database)."""
        with self._read("schema version") as conn:
            row = conn.execute("SELECT MAX(version) FROM _migrations").fetchone()
        return int(row[0] or 0)

    def migrations(self) -> list[dict[str, Any]]:
        """The ``_migrations`` rows, oldest first."""
        with self._read("migrations") as conn:
            return _dicts(conn.execute("SELECT version, name, applied_at FROM _migrations ORDER BY version"))

    @property
    def latest_version(self) -> int:
        """The schema version this code migrates to."""
        return LATEST

    @property
    def db(self) -> Any:
        """A ``sqlite_utils.Database`` over this connection, for ad-hoc reads."""
        import sqlite_utils

        return sqlite_utils.Database(self._connection())

    # -- transactions ----------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"{self.path}: the store is closed")
        return self._conn

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); sqlite3 errors become StorageError."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StorageError(f"{self.path}: {what}: {e}") from e
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                _rollback(conn)
                raise StorageError(f"{self.path}: {what}: {e}") from e
            except BaseException:
                _rollback(conn)
                raise

    @contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot across its statements."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                _rollback(conn)
                raise StorageError(f"{self.path}: {what}: {e}") from e
            except BaseException:
                _rollback(conn)
                raise

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the ``meta`` table (None when unset)."""
        with self._read("read meta") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``meta`` value."""
        with self._tx(f"set meta {key}") as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # -- feeds -----------------------------------------------------------------------------
    def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        """Make the feeds table match the configuration.

        New feeds are inserted due now; known ones (matched by configured URL, current URL or a
        URL they had before a 301) get the configured name, tags and interval and are active;
        feeds no longer configured become inactive (kept with their history, not deleted).
        """
        ts = _ts(now)
        with self._tx("sync feeds") as conn:
            has_origin = _has_column(conn, "feeds", "origin")
            keep: set[int] = set()
            for feed in feeds:
                fid = _feed_id(conn, feed.url, by_config=True)
                if fid is None:
                    cur = conn.execute(
                        "INSERT INTO feeds (url, config_url, name, tags, interval, next_check, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (feed.url, feed.url, feed.name, json.dumps(list(feed.tags)), feed.interval, ts, ts))
                    fid = int(cur.lastrowid or 0)
                else:
                    conn.execute("UPDATE feeds SET name = ?, tags = ?, interval = ?, active = 1 WHERE id = ?",
                                 (feed.name, json.dumps(list(feed.tags)), feed.interval, fid))
                    if has_origin:
                        conn.execute("UPDATE feeds SET origin = 'config' WHERE id = ?", (fid,))
                keep.add(fid)
            only_config = " AND origin = 'config'" if has_origin else ""  # user-added feeds stay
            for (fid,) in conn.execute("SELECT id FROM feeds WHERE active = 1" + only_config).fetchall():  # noqa: S608
                if fid not in keep:
                    conn.execute("UPDATE feeds SET active = 0 WHERE id = ?", (fid,))

    def due_feeds(self, now: datetime, ignore_schedule: bool = False) -> list[FeedRow]:
        """Active feeds to poll now, soonest first.

        A feed is due when its ``next_check`` has come. With ``ignore_schedule`` every active
        feed is due, except those gone (410) and those under a Retry-After still in force.
        """
        ts = _ts(now)
        sql = ("SELECT * FROM feeds WHERE active = 1 AND gone = 0 "
               "AND (retry_after_until IS NULL OR retry_after_until <= ?)")
        params: list[Any] = [ts]
        if not ignore_schedule:
            sql += " AND (next_check IS NULL OR next_check <= ?)"
            params.append(ts)
        sql += " ORDER BY next_check, id"
        with self._read("due feeds") as conn:
            return [_feed_row(r) for r in conn.execute(sql, params)]

    def get_feed(self, url: str) -> FeedRow | None:
        """The feed with this current URL (or a URL it had before a 301), or None."""
        with self._read(f"read feed {url}") as conn:
            fid = _feed_id(conn, url)
            if fid is None:
                return None
            return _feed_row(conn.execute("SELECT * FROM feeds WHERE id = ?", (fid,)).fetchone())

    def feed_rows(self) -> list[FeedRow]:
        """Every feed, active ones first, in configuration order."""
        with self._read("list feeds") as conn:
            return [_feed_row(r) for r in conn.execute("SELECT * FROM feeds ORDER BY active DESC, id")]

    def record_feed_ok(self, url: str, now: datetime, *, next_check: datetime, etag: str | None,
                       last_modified: str | None, new_url: str | None = None, not_modified: bool = False,
                       entries_seen: int = 0) -> None:
        """Record a successful poll: errors reset, validators and schedule stored.

        ``new_url`` (from a 301) replaces the feed's URL for good; the old URL stays an alias
        so entries stored under it are still recognised. ``not_modified`` keeps the entry count.
        """
        with self._tx(f"record poll of {url}") as conn:
            fid = _require_feed(conn, url, self.path)
            conn.execute(
                "UPDATE feeds SET last_checked = ?, last_ok = ?, next_check = ?, etag = ?, last_modified = ?, "
                "error_count = 0, last_error = NULL, retry_after_until = NULL, "
                "entry_count = CASE WHEN ? THEN entry_count ELSE ? END WHERE id = ?",
                (_ts(now), _ts(now), _ts(next_check), etag, last_modified, int(not_modified), entries_seen, fid))
            if new_url:
                _move_feed(conn, fid, new_url)

    def record_feed_error(self, url: str, now: datetime, *, error: str, next_check: datetime,
                          gone: bool = False, retry_after_until: datetime | None = None) -> None:
        """Record a failed poll: consecutive error count +1, the error, the next check.

        ``gone`` (410) stops polling for good; ``retry_after_until`` is honoured even by
        ``due_feeds(ignore_schedule=True)``.
        """
        with self._tx(f"record error of {url}") as conn:
            fid = _require_feed(conn, url, self.path)
            conn.execute(
                "UPDATE feeds SET last_checked = ?, next_check = ?, last_error = ?, error_count = error_count + 1, "
                "gone = MAX(gone, ?), retry_after_until = ? WHERE id = ?",
                (_ts(now), _ts(next_check), error, int(gone), _ts(retry_after_until), fid))

    # -- feed management (pledgewatch feeds; issue 4) ---------------------------------------
    def add_user_feed(self, url: str, now: datetime, *, name: str = "", tags: Sequence[str] = (),
                      interval: int | None = None) -> str:
        """Watch a feed added by the user (not in the config); due now.

        Returns ``added``, ``reactivated`` (a removed user feed) or ``exists`` (already watched,
        from the config or by the user; left unchanged).
        """
        ts = _ts(now)
        with self._tx(f"add feed {url}") as conn:
            fid = _feed_id(conn, url, by_config=True)
            if fid is None:
                conn.execute("INSERT INTO feeds (url, config_url, name, tags, interval, next_check, created_at, "
                             "origin) VALUES (?, ?, ?, ?, ?, ?, ?, 'user')",
                             (url, url, name, json.dumps(list(tags)), interval, ts, ts))
                return "added"
            row = conn.execute("SELECT active, origin FROM feeds WHERE id = ?", (fid,)).fetchone()
            if row["active"] or row["origin"] != "user":
                return "exists"
            conn.execute("UPDATE feeds SET active = 1, next_check = ?, name = COALESCE(NULLIF(?, ''), name) "
                         "WHERE id = ?", (ts, name, fid))
            return "reactivated"

    def remove_user_feed(self, url: str) -> str:
        """Stop watching a user-added feed (kept with its history, inactive).

        Returns ``removed``, ``config`` (the feed comes from config.toml: edit it there) or
        ``unknown``.
        """
        with self._tx(f"remove feed {url}") as conn:
            fid = _feed_id(conn, url, by_config=True)
            if fid is None:
                return "unknown"
            row = conn.execute("SELECT active, origin FROM feeds WHERE id = ?", (fid,)).fetchone()
            if row["origin"] != "user":
                return "config" if row["active"] else "unknown"
            conn.execute("UPDATE feeds SET active = 0 WHERE id = ?", (fid,))
            return "removed" if row["active"] else "unknown"

    def recent_entry_dates(self, url: str, limit: int = 10) -> list[datetime]:
        """Publication dates of the feed's newest stored entries (under any URL it has had)."""
        with self._read(f"entry dates of {url}") as conn:
            urls = _feed_urls(conn, url)
            marks = ",".join("?" * len(urls))
            rows = conn.execute(f"SELECT published FROM entries WHERE feed_url IN ({marks}) "  # noqa: S608
                                "AND published IS NOT NULL ORDER BY published DESC LIMIT ?", (*urls, limit))
            return [d for (p,) in rows if (d := _dt(p)) is not None]

    def stored_entry_counts(self) -> dict[str, int]:
        """Entries stored per feed (current URL; entries under its earlier URLs included)."""
        with self._read("entry counts") as conn:
            return {r[0]: r[1] for r in conn.execute(
                "SELECT f.url, (SELECT COUNT(*) FROM entries e WHERE e.feed_url = f.url OR e.feed_url IN "
                "(SELECT u.url FROM feed_urls u WHERE u.feed_id = f.id)) FROM feeds f")}

    def prune_entries(self, older_than: datetime, now: datetime) -> int:
        """Retention: delete fully processed (``alerted``) entries last updated before
        ``older_than``, leaving a tombstone for each so a feed still carrying it never brings it
        back. Their articles, facts and alerts stay. Returns how many were deleted."""
        with self._tx("prune entries") as conn:
            select = "SELECT id FROM entries WHERE state = 'alerted' AND updated_at < ?"
            _tombstone_entries(conn, select, (_ts(older_than),), now)
            return conn.execute(f"DELETE FROM entries WHERE id IN ({select})",  # noqa: S608
                                (_ts(older_than),)).rowcount

    def tombstone_count(self) -> int:
        """How many entry identities are kept as tombstones."""
        with self._read("tombstones") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0])

    # -- entries ---------------------------------------------------------------------------
    def add_entry(self, entry: FeedEntry, now: datetime) -> int | None:
        """Store a new entry (state ``new``) and return its row id; None when already known.

        Known means the same entry id under any URL the feed has had, or a tombstone for it. A known
        entry whose title, summary or content changed since it was processed is updated and queued
        again (state ``new``; its row id is returned): its article is fetched and extracted anew,
        its facts replaced, and alerts stay keyed, so nothing is alerted twice.
        """
        ts = _ts(now)
        with self._tx(f"add entry {entry.entry_id} of {entry.feed_url}") as conn:
            urls = _feed_urls(conn, entry.feed_url)
            marks = ",".join("?" * len(urls))
            if conn.execute(f"SELECT 1 FROM tombstones WHERE entry_id = ? AND feed_url IN ({marks})",  # noqa: S608
                            (entry.entry_id, *urls)).fetchone():
                return None
            known = conn.execute(f"SELECT id, title, summary, content, state FROM entries "  # noqa: S608
                                 f"WHERE entry_id = ? AND feed_url IN ({marks})", (entry.entry_id, *urls)).fetchone()
            if known is not None:
                changed = (known["title"], known["summary"], known["content"]) != (
                    entry.title, entry.summary, entry.content)
                if not changed or known["state"] not in ("extracted", "alerted"):
                    return None
                conn.execute("UPDATE entries SET link = ?, title = ?, published = ?, summary = ?, content = ?, "
                             "state = 'new', attempts = 0, last_error = NULL, next_try = NULL, updated_at = ? "
                             "WHERE id = ?", (entry.link, entry.title, _ts(entry.published), entry.summary,
                                              entry.content, ts, known["id"]))
                return int(known["id"])
            cur = conn.execute(
                "INSERT INTO entries (feed_url, entry_id, link, title, published, summary, content, state, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)",
                (entry.feed_url, entry.entry_id, entry.link, entry.title, _ts(entry.published),
                 entry.summary, entry.content, ts, ts))
            return int(cur.lastrowid or 0)

    def get_entry(self, entry_rowid: int) -> EntryRow | None:
        """One entry by row id, or None."""
        with self._read(f"read entry {entry_rowid}") as conn:
            row = conn.execute("SELECT * FROM entries WHERE id = ?", (entry_rowid,)).fetchone()
        return None if row is None else _entry_row(row)

    def pending_entries(self, now: datetime, limit: int = 100, ignore_schedule: bool = False) -> list[EntryRow]:
        """Entries to process now, oldest first.

        ``new`` entries; ``fetched``/``extracted`` ones a crash interrupted; ``failed`` ones
        whose ``next_try`` has come. With ``ignore_schedule`` every failed entry is retried,
        except those that failed at or after ``now`` (in this very cycle), so a caller looping
        until nothing is pending terminates.
        """
        ts = _ts(now)
        if ignore_schedule:
            cond = "(state = 'failed' AND updated_at < ?)"
        else:
            cond = "(state = 'failed' AND (next_try IS NULL OR next_try <= ?))"
        sql = (f"SELECT * FROM entries WHERE state IN ('new', 'fetched', 'extracted') OR {cond} "  # noqa: S608
               "ORDER BY id LIMIT ?")
        with self._read("pending entries") as conn:
            return [_entry_row(r) for r in conn.execute(sql, (ts, limit))]

    def mark_entry_fetched(self, entry_rowid: int, now: datetime) -> None:
        """Entry state -> ``fetched`` (its article text is in hand)."""
        self._set_entry_state(entry_rowid, "fetched", now)

    def mark_entry_failed(self, entry_rowid: int, now: datetime, error: str, next_try: datetime) -> None:
        """Entry state -> ``failed``: attempts +1, the error, when to try again."""
        with self._tx(f"mark entry {entry_rowid} failed") as conn:
            cur = conn.execute("UPDATE entries SET state = 'failed', attempts = attempts + 1, last_error = ?, "
                               "next_try = ?, updated_at = ? WHERE id = ?",
                               (error, _ts(next_try), _ts(now), entry_rowid))
            _require_row(cur, f"entry {entry_rowid}", self.path)

    def mark_entry_alerted(self, entry_rowid: int, now: datetime | None = None) -> None:
        """Entry state -> ``alerted`` (its alerts are recorded; processing is complete)."""
        self._set_entry_state(entry_rowid, "alerted", now or datetime.now(UTC))

    def _set_entry_state(self, entry_rowid: int, state: str, now: datetime) -> None:
        with self._tx(f"mark entry {entry_rowid} {state}") as conn:
            cur = conn.execute("UPDATE entries SET state = ?, last_error = NULL, next_try = NULL, updated_at = ? "
                               "WHERE id = ?", (state, _ts(now), entry_rowid))
            _require_row(cur, f"entry {entry_rowid}", self.path)

    # -- articles and facts ----------------------------------------------------------------
    def save_extraction(self, entry_rowid: int, article: Article, facts: Sequence[Fact],
                        extractor_version: str, now: datetime) -> int:
        """Store an entry's article and facts and set the entry ``extracted``; returns the article id.

        One transaction. Saving again for the same entry (after a crash, or a reprocess)
        updates the article and replaces its facts, so nothing is duplicated.
        """
        ts = _ts(now)
        with self._tx(f"save article {article.url or entry_rowid}") as conn:
            values = (article.url, article.title, article.text, _ts(article.published), article.source,
                      article.language, article.author, _content_hash(article.text), extractor_version, ts)
            old = conn.execute("SELECT id FROM articles WHERE entry_rowid = ?", (entry_rowid,)).fetchone()
            if old is None:
                cur = conn.execute(
                    "INSERT INTO articles (url, title, text, published, source, language, author, content_hash, "
                    "extractor_version, fetched_at, entry_rowid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, entry_rowid))
                article_id = int(cur.lastrowid or 0)
            else:
                article_id = int(old[0])
                conn.execute(
                    "UPDATE articles SET url = ?, title = ?, text = ?, published = ?, source = ?, language = ?, "
                    "author = ?, content_hash = ?, extractor_version = ?, fetched_at = ?, text_purged_at = NULL "
                    "WHERE id = ?", (*values, article_id))
                conn.execute("DELETE FROM facts WHERE article_id = ?", (article_id,))
            for fact in facts:
                _insert_fact(conn, article_id, fact, extractor_version, ts)
            cur = conn.execute("UPDATE entries SET state = 'extracted', last_error = NULL, next_try = NULL, "
                               "updated_at = ? WHERE id = ?", (ts, entry_rowid))
            _require_row(cur, f"entry {entry_rowid}", self.path)
        return article_id

    def get_article(self, article_id: int) -> dict[str, Any] | None:
        """One article row as a dict, or None."""
        with self._read(f"read article {article_id}") as conn:
            rows = _dicts(conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,)))
        return rows[0] if rows else None

    def facts(self, *, company: str | None = None, type: str | None = None, status: str | None = None,  # noqa: A002
              metric: str | None = None, since: datetime | None = None, until: datetime | None = None,
              limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Facts, newest article first, with the article's url, title and published time.

        ``company`` matches case-insensitively; ``since``/``until`` apply to the article's
        publication time (its fetch time when unknown). ``limit``/``offset`` page through them.
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("f.type", type), ("f.status", status), ("f.metric", metric)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if company is not None:
            where.append("f.company = ? COLLATE NOCASE")
            params.append(company)
        if since is not None:
            where.append("COALESCE(a.published, a.fetched_at) >= ?")
            params.append(_ts(since))
        if until is not None:
            where.append("COALESCE(a.published, a.fetched_at) < ?")
            params.append(_ts(until))
        clause = " WHERE " + " AND ".join(where) if where else ""  # fixed clauses; values are parameters
        # A company is found through facts_company; otherwise articles are walked newest first
        # (index articles_when) so that a page stops early instead of sorting every fact.
        join = ("facts f JOIN articles a ON a.id = f.article_id" if company is not None
                else "articles a CROSS JOIN facts f ON f.article_id = a.id")
        sql = (f"SELECT f.*, a.url, a.title, a.published FROM {join}"  # noqa: S608
               f"{clause} ORDER BY COALESCE(a.published, a.fetched_at) DESC, f.id DESC")
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params.extend([-1 if limit is None else int(limit), int(offset)])
        with self._read("query facts") as conn:
            return _dicts(conn.execute(sql, params))

    def companies(self) -> list[dict[str, Any]]:
        """Companies seen in facts, with fact counts by type."""
        with self._read("companies") as conn:
            # one count per company and type, each a range of the facts_company index
            count = "(SELECT COUNT(*) FROM facts f WHERE f.company = c.name COLLATE NOCASE AND f.type = '{}')"
            return _dicts(conn.execute(
                f"SELECT c.name, c.first_seen, {count.format('emission_change')} AS emission_changes, "  # noqa: S608
                f"{count.format('investment')} AS investments, {count.format('target')} AS targets "
                "FROM companies c ORDER BY c.name"))

    def purge_article_text(self, older_than: datetime, now: datetime) -> int:
        """Retention: blank the text of articles fetched before ``older_than``; facts stay.

        Returns how many articles were purged.
        """
        with self._tx("purge article text") as conn:
            cur = conn.execute("UPDATE articles SET text = '', text_purged_at = ? "
                               "WHERE fetched_at < ? AND text_purged_at IS NULL", (_ts(now), _ts(older_than)))
            _tombstone_entries(conn, "SELECT entry_rowid FROM articles WHERE text_purged_at = ?", (_ts(now),), now)
            conn.execute("UPDATE entries SET summary = '', content = '' WHERE state = 'alerted' AND updated_at < ?",
                         (_ts(older_than),))
            return cur.rowcount

    # -- alerts ----------------------------------------------------------------------------
    def record_alert(self, fact: EmissionChange, *, key: str, article_id: int, source: Source, now: datetime,
                     severity: str) -> tuple[int, bool]:
        """Insert the alert with this key, or merge a further report into it.

        A source is added only when neither its URL nor its outlet (host) is already among the
        alert's sources; the severity is recomputed from the number of outlets. Alerts of the
        same company, metric, period and unit with different values are marked as
        contradicting each other. Returns (alert id, created).
        """
        ts = _ts(now)
        with self._tx(f"record alert {key}") as conn:
            row = conn.execute("SELECT id, severity FROM alerts WHERE key = ?", (key,)).fetchone()
            created = row is None
            if created:
                cur = conn.execute(
                    "INSERT INTO alerts (key, company, metric, direction, value, unit, status, year, base_year, "
                    "period, severity, article_id, first_seen, last_seen) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, fact.company or "", fact.metric, fact.direction, fact.value, fact.unit, fact.status,
                     fact.year, fact.base_year, fact_period(fact), severity, article_id, ts, ts))
                alert_id = int(cur.lastrowid or 0)
            else:
                alert_id = int(row[0])
            added = _add_source(conn, alert_id, source, article_id, ts)
            if not created and added:
                # corroboration counts independent reports: outlets carrying one wire copy count once
                outlets = conn.execute("SELECT independent_reports FROM alert_reports WHERE alert_id = ?",
                                       (alert_id,)).fetchone()[0]
                new_sev = _max_severity(str(row[1]), alert_severity(fact.value, fact.unit, int(outlets)))
                conn.execute("UPDATE alerts SET last_seen = ?, severity = ? WHERE id = ?", (ts, new_sev, alert_id))
            if created:
                _flag_contradictions(conn, alert_id)
        return alert_id, created

    def record_investment_alert(self, fact: Investment, *, key: str, amount_usd: float, fx_date: str,
                                period: int | None, article_id: int, source: Source,
                                now: datetime) -> tuple[int, bool]:
        """Insert the investment alert with this key, or add a further outlet's report to it.

        Stored in ``alerts`` with kind ``investment``: value and unit are the amount and its
        currency, status announced/spent, year the by-year, period the year announced. Never
        flagged as a contradiction (a company may announce several investments); the severity
        follows the dollar amount and the outlets (``investment_severity``). Returns (id, created).
        """
        ts = _ts(now)
        with self._tx(f"record investment alert {key}") as conn:
            row = conn.execute("SELECT id, amount_usd FROM alerts WHERE key = ?", (key,)).fetchone()
            created = row is None
            if created:
                cur = conn.execute(
                    "INSERT INTO alerts (key, kind, company, metric, direction, value, unit, status, year, period, "
                    "severity, article_id, first_seen, last_seen, amount_usd, fx_date, purpose) "
                    "VALUES (?, 'investment', ?, 'investment', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, fact.company or "", fact.amount, fact.currency, fact.status, fact.by_year, period,
                     investment_severity(amount_usd, 1), article_id, ts, ts, amount_usd, fx_date, fact.purpose))
                alert_id = int(cur.lastrowid or 0)
            else:
                alert_id = int(row[0])
            if _add_source(conn, alert_id, source, article_id, ts) and not created:
                outlets = conn.execute("SELECT COUNT(DISTINCT outlet) FROM alert_sources WHERE alert_id = ?",
                                       (alert_id,)).fetchone()[0]
                conn.execute("UPDATE alerts SET last_seen = ?, severity = ? WHERE id = ?",
                             (ts, investment_severity(float(row[1] or amount_usd), int(outlets)), alert_id))
        return alert_id, created

    def channel_health(self, channels: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Per channel (configured and seen): alerts sent, waiting (never tried), failed (with the
        most attempts, the last error and the next retry), stuck deliveries and the last send."""
        out = []
        with self._read("channel health") as conn:
            known = [r[0] for r in conn.execute("SELECT DISTINCT channel FROM delivery_items ORDER BY channel")]
            for channel in dict.fromkeys([*channels, *known]):
                counts = dict(conn.execute("SELECT state, COUNT(*) FROM delivery_items WHERE channel = ? "
                                           "GROUP BY state", (channel,)).fetchall())
                waiting = conn.execute("SELECT COUNT(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM delivery_items "
                                       "d WHERE d.alert_id = a.id AND d.channel = ?)", (channel,)).fetchone()[0]
                fail = conn.execute("SELECT MAX(attempts), MIN(next_try) FROM delivery_items "
                                    "WHERE channel = ? AND state = 'failed'", (channel,)).fetchone()
                last_error = conn.execute("SELECT last_error FROM delivery_items WHERE channel = ? "
                                          "AND state = 'failed' ORDER BY updated_at DESC LIMIT 1",
                                          (channel,)).fetchone()
                stuck = conn.execute("SELECT COUNT(*) FROM deliveries WHERE channel = ? AND state = 'sending'",
                                     (channel,)).fetchone()[0]
                last_sent = conn.execute("SELECT MAX(finished_at) FROM deliveries WHERE channel = ? AND state = 'sent'",
                                         (channel,)).fetchone()[0]
                out.append({"channel": channel, "sent": counts.get("sent", 0), "waiting": waiting,
                            "failed": counts.get("failed", 0), "attempts": fail[0] or 0, "next_try": _dt(fail[1]),
                            "last_error": last_error[0] if last_error else None, "stuck": stuck,
                            "last_sent": _dt(last_sent)})
        return out

    def retry_due_alert_ids(self, channel: str, now: datetime) -> list[int]:
        """Alerts whose send on ``channel`` failed and whose back-off has run out by ``now``."""
        with self._read(f"retries due on {channel}") as conn:
            return [r[0] for r in conn.execute(
                "SELECT alert_id FROM delivery_items WHERE channel = ? AND state = 'failed' "
                "AND (next_try IS NULL OR next_try <= ?) ORDER BY alert_id", (channel, _ts(now)))]

    def alerts(self, *, since: datetime | None = None, undelivered_channel: str | None = None,
               limit: int | None = None) -> list[Alert]:
        """Alerts, oldest first, with their sources and the company's stored pledges.

        ``since`` keeps alerts first seen at or after it; ``undelivered_channel`` keeps those
        not yet sent (nor being sent) on that channel.
        """
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("al.first_seen >= ?")
            params.append(_ts(since))
        if undelivered_channel is not None:
            where.append(f"al.id IN ({_UNDELIVERED_SQL})")
            params.extend([undelivered_channel, None, None])
        clause = " WHERE " + " AND ".join(where) if where else ""  # fixed clauses; values are parameters
        sql = f"SELECT al.* FROM alerts al{clause} ORDER BY al.first_seen, al.id"  # noqa: S608
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._read("query alerts") as conn:
            rows = conn.execute(sql, params).fetchall()
            return _with_independent_reports(conn, [_alert(conn, r) for r in rows])

    # -- deliveries (the outbox) -----------------------------------------------------------
    def begin_delivery(self, channel: str, alert_ids: Sequence[int], now: datetime, message_id: str) -> int:
        """Record, before sending, that these alerts are being sent on ``channel``; returns the delivery id.

        Refuses (StorageError) alerts already sent or being sent on the channel: each alert
        reaches each channel once.
        """
        ts = _ts(now)
        with self._tx(f"begin delivery on {channel}") as conn:
            taken = [r[0] for r in conn.execute(
                "SELECT alert_id FROM delivery_items WHERE channel = ? AND state IN ('sent', 'sending')",
                (channel,)) if r[0] in set(alert_ids)]
            if taken:
                raise StorageError(f"{self.path}: alerts {sorted(taken)} were already sent (or are being sent) "
                                   f"on {channel}")
            cur = conn.execute("INSERT INTO deliveries (channel, message_id, state, alert_count, created_at) "
                               "VALUES (?, ?, 'sending', ?, ?)", (channel, message_id, len(alert_ids), ts))
            delivery_id = int(cur.lastrowid or 0)
            for alert_id in alert_ids:
                conn.execute(
                    "INSERT INTO delivery_items (alert_id, channel, state, delivery_id, updated_at) "
                    "VALUES (?, ?, 'sending', ?, ?) ON CONFLICT (alert_id, channel) DO UPDATE SET "
                    "state = 'sending', delivery_id = excluded.delivery_id, updated_at = excluded.updated_at",
                    (alert_id, channel, delivery_id, ts))
        return delivery_id

    def finish_delivery(self, delivery_id: int, now: datetime, ok: bool, error: str | None = None) -> None:
        """Record the outcome of a send: each alert x channel ``sent``, or ``failed`` with back-off."""
        ts = _ts(now)
        with self._tx(f"finish delivery {delivery_id}") as conn:
            cur = conn.execute("UPDATE deliveries SET state = ?, finished_at = ?, error = ? WHERE id = ?",
                               ("sent" if ok else "failed", ts, error, delivery_id))
            _require_row(cur, f"delivery {delivery_id}", self.path)
            if ok:
                conn.execute("UPDATE delivery_items SET state = 'sent', last_error = NULL, next_try = NULL, "
                             "updated_at = ? WHERE delivery_id = ?", (ts, delivery_id))
                return
            items = conn.execute("SELECT alert_id, channel, attempts FROM delivery_items WHERE delivery_id = ?",
                                 (delivery_id,)).fetchall()
            for alert_id, channel, attempts in items:
                next_try = now + min(DELIVERY_RETRY_BASE * (2 ** min(attempts, 10)), DELIVERY_RETRY_MAX)
                conn.execute("UPDATE delivery_items SET state = 'failed', attempts = attempts + 1, last_error = ?, "
                             "next_try = ?, updated_at = ? WHERE alert_id = ? AND channel = ?",
                             (error, _ts(next_try), ts, alert_id, channel))

    def undelivered_alert_ids(self, channel: str, now: datetime | None = None) -> list[int]:
        """Alerts not yet sent on ``channel``: never tried, or failed (with ``now``: retry time come).

        Items left ``sending`` by a crash are not included (see ``stuck_deliveries``).
        """
        with self._read(f"undelivered on {channel}") as conn:
            ts = _ts(now)
            return [r[0] for r in conn.execute(_UNDELIVERED_SQL + " ORDER BY a.id", (channel, ts, ts))]

    def stuck_deliveries(self, channel: str | None = None) -> list[DeliveryRow]:
        """Deliveries still ``sending``: interrupted between send and record, possibly delivered.

        They are never resent automatically; settle them with ``resolve_stuck_delivery``.
        """
        sql = "SELECT * FROM deliveries WHERE state = 'sending'"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql += " AND channel = ?"
            params = (channel,)
        with self._read("stuck deliveries") as conn:
            return [_delivery_row(conn, r) for r in conn.execute(sql + " ORDER BY id", params).fetchall()]

    def resolve_stuck_delivery(self, delivery_id: int, now: datetime, *, delivered: bool) -> None:
        """Settle a stuck delivery: ``delivered`` marks it sent; otherwise its alerts become due again."""
        if delivered:
            self.finish_delivery(delivery_id, now, ok=True)
            return
        with self._tx(f"release delivery {delivery_id}") as conn:
            conn.execute("UPDATE deliveries SET state = 'failed', finished_at = ?, error = ? WHERE id = ?",
                         (_ts(now), "released after an interrupted send", delivery_id))
            conn.execute("UPDATE delivery_items SET state = 'failed', next_try = ?, updated_at = ? "
                         "WHERE delivery_id = ? AND state = 'sending'", (_ts(now), _ts(now), delivery_id))

    def deliveries(self, channel: str | None = None, limit: int = 50) -> list[DeliveryRow]:
        """Recent deliveries, newest first."""
        where = " WHERE channel = ?" if channel else ""
        sql = f"SELECT * FROM deliveries{where} ORDER BY id DESC LIMIT ?"  # noqa: S608 - fixed clauses
        params = (channel, limit) if channel else (limit,)
        with self._read("deliveries") as conn:
            return [_delivery_row(conn, r) for r in conn.execute(sql, params).fetchall()]

    # -- status and search -----------------------------------------------------------------
    def status(self, channels: Sequence[str] = ()) -> dict[str, Any]:
        """Counts for ``pledgewatch status``: feeds, entries by state, articles, facts by type,
        alerts, undelivered alerts per channel, stuck and failed deliveries, last poll time."""
        out: dict[str, Any] = {}
        with self._read("status") as conn:
            one = conn.execute(
                "SELECT COUNT(*), SUM(active), SUM(active AND gone = 0 AND error_count > 0), SUM(gone), "
                "MAX(last_checked) FROM feeds").fetchone()
            out.update(feeds=one[0], feeds_active=one[1] or 0, feeds_failing=one[2] or 0, feeds_gone=one[3] or 0)
            by_state = dict(conn.execute("SELECT state, COUNT(*) FROM entries GROUP BY state").fetchall())
            out["entries"] = sum(by_state.values())
            for state in ENTRY_STATES:
                out[f"entries_{state}"] = by_state.get(state, 0)
            out["queue"] = by_state.get("new", 0) + by_state.get("fetched", 0) + by_state.get("extracted", 0)
            out["articles"] = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            by_type = dict(conn.execute("SELECT type, COUNT(*) FROM facts GROUP BY type").fetchall())
            out["facts"] = sum(by_type.values())
            for fact_type in FACT_TYPES:
                out[f"facts_{fact_type}"] = by_type.get(fact_type, 0)
            out["alerts"] = conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
            known = [r[0] for r in conn.execute("SELECT DISTINCT channel FROM delivery_items ORDER BY channel")]
            for channel in dict.fromkeys([*channels, *known]):
                out[f"undelivered_{channel}"] = len(conn.execute(_UNDELIVERED_SQL, (channel, None, None)).fetchall())
            out["deliveries_stuck"] = conn.execute(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
            out["delivery_items_failed"] = conn.execute(
                "SELECT COUNT(*) FROM delivery_items WHERE state = 'failed'").fetchone()[0]
            out["last_poll"] = one[4]
        return out

    def search(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over article titles and text and fact evidence, best first.

        Every word of ``text`` must occur (FTS5 syntax in ``text`` is quoted, not interpreted).
        Rows: kind ('article' or 'fact'), article_id, fact_id, url, title, published, snippet
        (matches in [brackets]), rank.
        """
        query = _fts_query(text)
        if not query:
            return []
        # Each side is ranked and cut inside FTS5 (ORDER BY rank LIMIT), so snippets are made
        # only for the rows returned, then joined to their articles.
        sql = (
            "SELECT * FROM ("
            "SELECT 'article' AS kind, a.id AS article_id, NULL AS fact_id, a.url, a.title, a.published, "
            "m.snippet, m.rank FROM (SELECT rowid, snippet(articles_fts, -1, '[', ']', '…', 16) AS snippet, rank "
            "FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?) m "
            "JOIN articles a ON a.id = m.rowid "
            "UNION ALL "
            "SELECT 'fact', f.article_id, f.id, a.url, a.title, a.published, m.snippet, m.rank "
            "FROM (SELECT rowid, snippet(facts_fts, 0, '[', ']', '…', 16) AS snippet, rank "
            "FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rank LIMIT ?) m "
            "JOIN facts f ON f.id = m.rowid JOIN articles a ON a.id = f.article_id"
            ") ORDER BY rank LIMIT ?")
        with self._read(f"search {text!r}") as conn:
            return _dicts(conn.execute(sql, (query, limit, query, limit, limit)))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one SQL statement and return its rows (meant for read-only stores: ``query sql``)."""
        with self._read("query") as conn:
            try:
                return _dicts(conn.execute(sql, tuple(params)))
            except sqlite3.DatabaseError as e:
                raise StorageError(f"{self.path}: {e}") from e

    # == issue 6: company timelines and reprocessing (section added for `query timeline` and
    # `pledgewatch reprocess`; see monitor/reprocess.py) ======================================
    def company_timeline(self, company: str) -> list[dict[str, Any]]:
        """Every fact about ``company`` (case-insensitive), oldest article first.

        Rows are fact rows plus the article's url, title, published and fetched_at.
        """
        with self._read(f"timeline of {company}") as conn:
            return _dicts(conn.execute(
                "SELECT f.*, a.url, a.title, a.published, a.fetched_at FROM facts f "
                "JOIN articles a ON a.id = f.article_id WHERE f.company = ? COLLATE NOCASE "
                "ORDER BY COALESCE(a.published, a.fetched_at), f.id", (company,)))

    def articles_for_reprocess(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Stored articles (published, else fetched, at or after ``since``), oldest id first.

        Rows: id, url, title, text, published, fetched_at, text_purged_at, extractor_version and
        feed_url (of the entry the article came from; None when the entry is gone).
        """
        sql = ("SELECT a.id, a.url, a.title, a.text, a.published, a.fetched_at, a.text_purged_at, "
               "a.extractor_version, e.feed_url FROM articles a LEFT JOIN entries e ON e.id = a.entry_rowid")
        params: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE COALESCE(a.published, a.fetched_at) >= ?"
            params = (_ts(since),)
        with self._read("articles to reprocess") as conn:
            return _dicts(conn.execute(sql + " ORDER BY a.id", params))

    def facts_of_articles(self, article_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The stored fact rows of each article (every id present, possibly with an empty list), in id order."""
        out: dict[int, list[dict[str, Any]]] = {int(i): [] for i in article_ids}
        ids = list(out)
        with self._read("facts of articles") as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in _dicts(conn.execute(f"SELECT * FROM facts WHERE article_id IN ({marks}) "  # noqa: S608
                                               "ORDER BY article_id, id", chunk)):
                    out[int(row["article_id"])].append(row)
        return out

    def alert_links(self) -> list[dict[str, Any]]:
        """Every alert with the articles among its sources and the channels it was sent (or is being sent) on.

        Rows: id, key, company, metric, direction, value, unit, year, sources (list of
        ``{"article_id", "outlet"}``, article_id None when the article was deleted), delivered
        (list of channel names).
        """
        with self._read("alert links") as conn:
            only_emission = " WHERE kind = 'emission'" if _has_column(conn, "alerts", "kind") else ""
            rows = _dicts(conn.execute(  # investment alerts are not reconciled by reprocess
                "SELECT id, key, company, metric, direction, value, unit, year FROM alerts"  # noqa: S608
                + only_emission + " ORDER BY id"))
            sources: dict[int, list[dict[str, Any]]] = {}
            for alert_id, article_id, outlet in conn.execute(
                    "SELECT alert_id, article_id, outlet FROM alert_sources ORDER BY id"):
                sources.setdefault(int(alert_id), []).append({"article_id": article_id, "outlet": outlet})
            sent: dict[int, list[str]] = {}
            for alert_id, channel in conn.execute(
                    "SELECT alert_id, channel FROM delivery_items WHERE state IN ('sent', 'sending') ORDER BY channel"):
                sent.setdefault(int(alert_id), []).append(str(channel))
        for row in rows:
            row["sources"] = sources.get(row["id"], [])
            row["delivered"] = sent.get(row["id"], [])
        return rows

    def replace_article_facts(self, article_id: int, facts: Sequence[Fact], extractor_version: str,
                              now: datetime) -> None:
        """Replace an article's facts with ``facts`` (one transaction) and record the extractor version."""
        ts = _ts(now)
        with self._tx(f"replace facts of article {article_id}") as conn:
            cur = conn.execute("UPDATE articles SET extractor_version = ? WHERE id = ?",
                               (extractor_version, article_id))
            _require_row(cur, f"article {article_id}", self.path)
            conn.execute("DELETE FROM facts WHERE article_id = ?", (article_id,))
            for fact in facts:
                _insert_fact(conn, article_id, fact, extractor_version, ts)

    def withdraw_alert_sources(self, alert_id: int, article_ids: Sequence[int], *, replaced: bool = False) -> str:
        """Detach these articles from an alert's sources (their text no longer supports it).

        Returns ``'kept'`` when other sources remain (or ``replaced``: the caller adds new
        sources right after), ``'deleted'`` when none remain and the alert was never sent (it is
        removed, so it is never sent), ``'delivered'`` when none would remain but the alert was
        already sent or is being sent on some channel: then it is left exactly as it was
        delivered. Contradiction notes of its group are recomputed after a deletion.
        """
        with self._tx(f"withdraw sources of alert {alert_id}") as conn:
            marks = ",".join("?" * len(article_ids))
            remaining = conn.execute(
                f"SELECT COUNT(*) FROM alert_sources WHERE alert_id = ? AND (article_id IS NULL "  # noqa: S608
                f"OR article_id NOT IN ({marks}))", (alert_id, *article_ids)).fetchone()[0]
            if remaining == 0 and not replaced:
                sent = conn.execute("SELECT 1 FROM delivery_items WHERE alert_id = ? AND state IN ('sent', 'sending')",
                                    (alert_id,)).fetchone()
                if sent:
                    return "delivered"
                group = conn.execute("SELECT company, metric, period, unit FROM alerts WHERE id = ?",
                                     (alert_id,)).fetchone()
                conn.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))
                if group is not None:
                    _reflag_group(conn, group)
                return "deleted"
            conn.execute(f"DELETE FROM alert_sources WHERE alert_id = ? AND article_id IN ({marks})",  # noqa: S608
                         (alert_id, *article_ids))
            conn.execute("UPDATE alerts SET article_id = (SELECT article_id FROM alert_sources WHERE alert_id = ? "  # noqa: S608
                         f"ORDER BY id LIMIT 1) WHERE id = ? AND article_id IN ({marks})",
                         (alert_id, alert_id, *article_ids))
            return "kept"

    def search_recent(self, text: str, limit: int = 20, window: int = 2000) -> list[dict[str, Any]]:
        """Like ``search``, but ranks only the newest ``window`` matches of each index.

        Ranking (bm25) visits every match, which takes hundreds of milliseconds when a word
        occurs in most of 100,000 articles; counting back ``window`` matches by rowid (the order
        articles and facts were stored) and ranking from there keeps every search fast. Below
        ``window`` matches the result is the same as ``search``.
        """
        query = _fts_query(text)
        if not query:
            return []
        with self._read(f"search {text!r}") as conn:
            floors = []
            for sql in (
                    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                    "SELECT rowid FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?"):
                row = conn.execute(sql, (query, max(0, window - 1))).fetchone()
                floors.append(0 if row is None else int(row[0]))
            sql = (
                "SELECT * FROM ("
                "SELECT 'article' AS kind, a.id AS article_id, NULL AS fact_id, a.url, a.title, a.published, "
                "m.snippet, m.rank FROM (SELECT rowid, snippet(articles_fts, -1, '[', ']', '…', 16) AS snippet, "
                "rank FROM articles_fts WHERE articles_fts MATCH ? AND rowid >= ? ORDER BY rank LIMIT ?) m "
                "JOIN articles a ON a.id = m.rowid "
                "UNION ALL "
                "SELECT 'fact', f.article_id, f.id, a.url, a.title, a.published, m.snippet, m.rank "
                "FROM (SELECT rowid, snippet(facts_fts, 0, '[', ']', '…', 16) AS snippet, rank "
                "FROM facts_fts WHERE facts_fts MATCH ? AND rowid >= ? ORDER BY rank LIMIT ?) m "
                "JOIN facts f ON f.id = m.rowid JOIN articles a ON a.id = f.article_id"
                ") ORDER BY rank LIMIT ?")
            return _dicts(conn.execute(sql, (query, floors[0], limit, query, floors[1], limit, limit)))

    # -- story clusters (monitor/clusters.py) ----------------------------------------------
    def cluster_candidates(self, buckets: Sequence[int], *, since: datetime,
                           exclude_entry: int | None = None) -> list[Candidate]:
        """Articles seen since ``since`` sharing an LSH bucket with ``buckets``, with their texts.

        ``exclude_entry`` leaves out the article of that entry (an updated entry is not its own
        duplicate).
        """
        from monitor.clusters import Candidate

        if not buckets:
            return []
        marks = ", ".join("?" * len(buckets))
        sql = ("SELECT c.article_id, c.cluster_id, c.outlet, c.signature, c.duplicate_of, a.text "  # noqa: S608
               "FROM article_clusters c "
               "JOIN articles a ON a.id = c.article_id WHERE c.article_id IN "
               f"(SELECT article_id FROM lsh_buckets WHERE bucket IN ({marks})) "
               "AND c.seen_at >= ? AND c.signature IS NOT NULL AND (? IS NULL OR a.entry_rowid IS NOT ?) "
               "ORDER BY c.article_id")
        with self._read("cluster candidates") as conn:
            rows = conn.execute(sql, (*buckets, _ts(since), exclude_entry, exclude_entry)).fetchall()
        return [Candidate(article_id=r["article_id"], cluster_id=r["cluster_id"], outlet=r["outlet"],
                          signature=bytes(r["signature"]), text=r["text"] or "", duplicate_of=r["duplicate_of"])
                for r in rows]

    def save_cluster(self, article_id: int, assignment: Assignment, *, outlet: str, signature: bytes | None,
                     buckets: Sequence[int], now: datetime) -> int:
        """Record an article's story cluster, signature and LSH buckets (replacing earlier ones);
        returns the cluster id (the article's own id when it starts a new story)."""
        cluster_id = assignment.cluster_id if assignment.cluster_id is not None else article_id
        with self._tx(f"save cluster of article {article_id}") as conn:
            conn.execute("DELETE FROM lsh_buckets WHERE article_id = ?", (article_id,))
            conn.execute("INSERT OR REPLACE INTO article_clusters (article_id, cluster_id, outlet, signature, "
                         "matched_article, similarity, duplicate_of, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (article_id, cluster_id, outlet, signature, assignment.matched_article,
                          assignment.similarity if assignment.matched_article is not None else None,
                          assignment.duplicate_of, _ts(now)))
            conn.executemany("INSERT OR IGNORE INTO lsh_buckets (bucket, article_id) VALUES (?, ?)",
                             [(b, article_id) for b in buckets])
        return cluster_id

    def prune_cluster_index(self, before: datetime) -> int:
        """Drop the LSH buckets of articles seen before ``before`` (their clusters stay);
        returns how many articles left the index."""
        from monitor.clusters import BANDS

        with self._tx("prune cluster index") as conn:
            cur = conn.execute("DELETE FROM lsh_buckets WHERE article_id IN "
                               "(SELECT article_id FROM article_clusters WHERE seen_at < ?)", (_ts(before),))
            conn.execute("UPDATE article_clusters SET signature = NULL WHERE seen_at < ? AND signature IS NOT NULL",
                         (_ts(before),))
            return cur.rowcount // BANDS

    def story_clusters(self, *, min_articles: int = 1, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of the ``story_clusters`` view, largest and newest first."""
        sql = "SELECT * FROM story_clusters WHERE articles >= ? ORDER BY articles DESC, last_seen DESC"
        params: list[Any] = [min_articles]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._read("story clusters") as conn:
            return _dicts(conn.execute(sql, params))


# -- helpers ---------------------------------------------------------------------------------

_UNDELIVERED_SQL = (
    "SELECT a.id FROM alerts a LEFT JOIN delivery_items d ON d.alert_id = a.id AND d.channel = ? "
    "WHERE d.alert_id IS NULL OR (d.state = 'failed' AND (? IS NULL OR d.next_try IS NULL OR d.next_try <= ?))")


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
        else:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        return conn
    except sqlite3.Error as e:
        raise StorageError(f"{path}: cannot open the database: {e}") from e


_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_INSERT,
           sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_VIEW,
           sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_CREATE_TABLE,
           sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TRIGGER,
           sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE}


# Pragmas that only read (asked for by FTS5's constructor: data_version; and schema lookups).
_READ_PRAGMAS = {"data_version", "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                 "foreign_key_list", "collation_list", "function_list", "module_list", "pragma_list",
                 "compile_options"}


def _readonly_authorizer(action: int, *args: Any) -> int:
    # FTS5's constructor (any MATCH) parses the schema (reported as UPDATE of sqlite_master) and
    # reads PRAGMA data_version; refusing them broke `search` on read-only stores. Both are safe:
    # the connection is mode=ro and query_only, SQLite refuses "UPDATE sqlite_master" from SQL,
    # and only pragmas that read are let through.
    if action == sqlite3.SQLITE_UPDATE and args[:1] == ("sqlite_master",):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and str(args[0]).lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY if action in _DENIED else sqlite3.SQLITE_OK


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _ts(dt: datetime | None) -> str | None:
    """A datetime as sortable UTC ISO text (naive = UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [dict(r) for r in cur.fetchall()]


def _content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _require_row(cur: sqlite3.Cursor, what: str, path: Path) -> None:
    if cur.rowcount == 0:
        raise StorageError(f"{path}: no {what}")


def _feed_id(conn: sqlite3.Connection, url: str, *, by_config: bool = False) -> int | None:
    """The feed known by this URL: current URL, an alias from a 301 or (optionally) its configured URL."""
    queries = ["SELECT id FROM feeds WHERE url = ?", "SELECT feed_id FROM feed_urls WHERE url = ?"]
    if by_config:
        queries.insert(0, "SELECT id FROM feeds WHERE config_url = ?")
    for sql in queries:
        row = conn.execute(sql, (url,)).fetchone()
        if row is not None:
            return int(row[0])
    return None


def _require_feed(conn: sqlite3.Connection, url: str, path: Path) -> int:
    fid = _feed_id(conn, url)
    if fid is None:
        raise StorageError(f"{path}: no feed {url}")
    return fid


def _feed_urls(conn: sqlite3.Connection, url: str) -> list[str]:
    """Every URL of the feed that ``url`` names (itself included)."""
    fid = _feed_id(conn, url)
    if fid is None:
        return [url]
    urls = [r[0] for r in conn.execute("SELECT url FROM feeds WHERE id = ? UNION SELECT url FROM feed_urls "
                                       "WHERE feed_id = ?", (fid, fid))]
    return list(dict.fromkeys([url, *urls]))


def _move_feed(conn: sqlite3.Connection, fid: int, new_url: str) -> None:
    """A 301: the feed's URL becomes ``new_url``; the old one stays as an alias."""
    old_url = conn.execute("SELECT url FROM feeds WHERE id = ?", (fid,)).fetchone()[0]
    if new_url == old_url:
        return
    other = conn.execute("SELECT id FROM feeds WHERE url = ? AND id != ?", (new_url, fid)).fetchone()
    if other is not None:
        conn.execute("UPDATE feeds SET active = 0, last_error = ? WHERE id = ?",
                     (f"moved permanently to {new_url}, which is already watched", fid))
        return
    conn.execute("DELETE FROM feed_urls WHERE url = ?", (new_url,))
    conn.execute("INSERT OR REPLACE INTO feed_urls (url, feed_id) VALUES (?, ?)", (old_url, fid))
    conn.execute("UPDATE feeds SET url = ? WHERE id = ?", (new_url, fid))
    # Entries just stored under the new URL that were already known under an old one.
    conn.execute("DELETE FROM entries WHERE feed_url = ? AND state = 'new' AND entry_id IN "
                 "(SELECT entry_id FROM entries WHERE feed_url IN (SELECT url FROM feed_urls WHERE feed_id = ?))",
                 (new_url, fid))


def _feed_row(r: sqlite3.Row) -> FeedRow:
    return FeedRow(url=r["url"], name=r["name"], tags=tuple(json.loads(r["tags"] or "[]")), interval=r["interval"],
                   etag=r["etag"], last_modified=r["last_modified"], last_checked=_dt(r["last_checked"]),
                   next_check=_dt(r["next_check"]), last_error=r["last_error"], error_count=r["error_count"],
                   gone=bool(r["gone"]), entry_count=r["entry_count"], active=bool(r["active"]),
                   retry_after_until=_dt(r["retry_after_until"]), config_url=r["config_url"],
                   last_ok=_dt(r["last_ok"]), origin=r["origin"] if "origin" in r.keys() else "config")  # noqa: SIM118


def _tombstone_entries(conn: sqlite3.Connection, select_ids: str, params: Sequence[Any], now: datetime) -> None:
    """Keep the identity (feed URL, entry id) of the entries ``select_ids`` selects as tombstones."""
    conn.execute("INSERT OR IGNORE INTO tombstones (feed_url, entry_id, deleted_at) "  # noqa: S608
                 f"SELECT feed_url, entry_id, ? FROM entries WHERE id IN ({select_ids})", (_ts(now), *params))


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))  # noqa: S608


def _entry_row(r: sqlite3.Row) -> EntryRow:
    entry = FeedEntry(feed_url=r["feed_url"], entry_id=r["entry_id"], link=r["link"], title=r["title"],
                      published=_dt(r["published"]), summary=r["summary"], content=r["content"])
    return EntryRow(id=r["id"], feed_url=r["feed_url"], entry=entry, state=r["state"], attempts=r["attempts"],
                    last_error=r["last_error"], next_try=_dt(r["next_try"]))


def _insert_fact(conn: sqlite3.Connection, article_id: int, fact: Fact, extractor_version: str, ts: str | None) -> None:
    cols: dict[str, Any] = {"type": fact.type, "company": fact.company}
    if isinstance(fact, EmissionChange):
        cols.update(metric=fact.metric, direction=fact.direction, value=fact.value, unit=fact.unit,
                    base_year=fact.base_year, year=fact.year, status=fact.status)
    elif isinstance(fact, Investment):
        cols.update(amount=fact.amount, currency=fact.currency, purpose=fact.purpose, by_year=fact.by_year,
                    status=fact.status)
    elif isinstance(fact, Target):
        cols.update(goal=fact.goal, year=fact.year)
    ev = fact.evidence
    if ev is not None:
        cols.update(evidence=ev.sentence, evidence_start=ev.start, evidence_end=ev.end, confidence=ev.confidence)
    cols.update(article_id=article_id, extractor_version=extractor_version, created_at=ts)
    names = ", ".join(cols)  # fixed column names from this function, never from input
    conn.execute(f"INSERT INTO facts ({names}) VALUES ({', '.join('?' * len(cols))})",  # noqa: S608
                 tuple(cols.values()))
    if fact.company:
        conn.execute("INSERT OR IGNORE INTO companies (name, first_seen) VALUES (?, ?)", (fact.company, ts))


def outlet_of(url: str | None, feed: str | None = None) -> str:
    """The outlet behind a source: host of its URL (else of its feed), lower-case, without www."""
    for candidate in (url, feed):
        host = (urlsplit(candidate or "").hostname or "").lower()
        if host:
            return host.removeprefix("www.")
    return ""


def _add_source(conn: sqlite3.Connection, alert_id: int, source: Source, article_id: int, ts: str | None) -> bool:
    outlet = outlet_of(source.url, source.feed)
    dup = conn.execute("SELECT 1 FROM alert_sources WHERE alert_id = ? "
                       "AND (outlet = ? OR (url IS NOT NULL AND url = ?))", (alert_id, outlet, source.url)).fetchone()
    if dup:
        return False
    conn.execute("INSERT INTO alert_sources (alert_id, url, outlet, title, feed, published, sentence, article_id, "
                 "added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (alert_id, source.url, outlet, source.title, source.feed, _ts(source.published), source.sentence,
                  article_id, ts))
    return True


def _max_severity(a: str, b: str) -> str:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return max(a, b, key=lambda s: rank.get(s, 1))


def _flag_contradictions(conn: sqlite3.Connection, alert_id: int) -> None:
    """Mark every alert of the same company, metric, period and unit when their values differ."""
    me = conn.execute("SELECT company, metric, period, unit FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if me["period"] is None:
        return  # without a period two values need not describe the same change
    group = conn.execute("SELECT id, direction, value, unit FROM alerts WHERE company = ? COLLATE NOCASE "
                         "AND metric = ? AND period = ? AND unit = ? ORDER BY id",
                         (me["company"], me["metric"], me["period"], me["unit"])).fetchall()
    if len(group) < 2:
        return
    for row in group:
        others = [f"{o['direction']} {_fmt(o['value'])}{o['unit']} (alert {o['id']})" for o in group
                  if o["id"] != row["id"] and (o["value"], o["direction"]) != (row["value"], row["direction"])]
        text = (f"{me['company']} {me['metric']} {me['period']}: other reports give " + ", ".join(others)
                if others else None)
        conn.execute("UPDATE alerts SET contradiction = ? WHERE id = ?", (text, row["id"]))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _alert(conn: sqlite3.Connection, r: sqlite3.Row) -> Alert:
    sources = tuple(
        Source(url=s["url"], title=s["title"], feed=s["feed"], published=_dt(s["published"]), sentence=s["sentence"])
        for s in conn.execute("SELECT * FROM alert_sources WHERE alert_id = ? ORDER BY id", (r["id"],)))
    pledges = tuple(dict.fromkeys(
        f"{g['goal']} by {g['year']}" if g["year"] else g["goal"]
        for g in conn.execute("SELECT goal, year FROM facts WHERE type = 'target' AND company = ? COLLATE NOCASE "
                              "AND goal IS NOT NULL ORDER BY year, id", (r["company"],))))
    return Alert(key=r["key"], company=r["company"], metric=r["metric"], direction=r["direction"], value=r["value"],
                 unit=r["unit"], status=r["status"], year=r["year"], base_year=r["base_year"], sources=sources,
                 first_seen=_dt(r["first_seen"]) or datetime.now(UTC), severity=r["severity"], pledges=pledges,
                 contradiction=r["contradiction"], id=r["id"], **_alert_kind_fields(r))


def _alert_kind_fields(r: sqlite3.Row) -> dict[str, Any]:
    """kind, amount_usd, fx_date, purpose of an alert row (absent before migration 8)."""
    names = set(r.keys())
    return {k: r[k] for k in ("kind", "amount_usd", "fx_date", "purpose") if k in names and r[k] is not None}


def _delivery_row(conn: sqlite3.Connection, r: sqlite3.Row) -> DeliveryRow:
    ids = tuple(x[0] for x in conn.execute(
        "SELECT alert_id FROM delivery_items WHERE delivery_id = ? ORDER BY alert_id", (r["id"],)))
    return DeliveryRow(id=r["id"], channel=r["channel"], message_id=r["message_id"], state=r["state"], alert_ids=ids,
                       created_at=_dt(r["created_at"]) or datetime.now(UTC), finished_at=_dt(r["finished_at"]),
                       error=r["error"])


def _fts_query(text: str) -> str:
    """User text as an FTS5 query: every word, each quoted (no FTS syntax from the user)."""
    import re

    words = re.findall(r"\w+", text)
    return " ".join('"' + w + '"' for w in words)


def _reflag_group(conn: sqlite3.Connection, group: sqlite3.Row) -> None:
    """Recompute contradiction notes of an alert group after one of its alerts was deleted."""
    rest = conn.execute("SELECT id FROM alerts WHERE company = ? COLLATE NOCASE AND metric = ? AND period IS ? "
                        "AND unit = ? ORDER BY id", (group["company"], group["metric"], group["period"],
                                                     group["unit"])).fetchall()
    if len(rest) == 1:
        conn.execute("UPDATE alerts SET contradiction = NULL WHERE id = ?", (rest[0][0],))
    elif rest:
        _flag_contradictions(conn, int(rest[0][0]))


def _with_independent_reports(conn: sqlite3.Connection, alerts: list[Alert]) -> list[Alert]:
    """The alerts with ``independent_reports`` set from the ``alert_reports`` view."""
    ids = [a.id for a in alerts if a.id is not None]
    if not ids:
        return alerts
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = (f"SELECT alert_id, independent_reports FROM alert_reports "  # noqa: S608 - placeholders only
               f"WHERE alert_id IN ({', '.join('?' * len(chunk))})")
        counts.update((int(r[0]), int(r[1])) for r in conn.execute(sql, chunk))
    return [dataclasses.replace(a, independent_reports=counts.get(a.id, 0)) if a.id is not None else a
            for a in alerts]


__all__ = ["DeliveryRow", "EntryRow", "FeedRow", "Store", "outlet_of"]
