"""The store's schema as ordered migrations, recorded in the ``_migrations`` table.

Each migration is a function over a ``sqlite3.Connection``; ``migrate`` runs every one not yet
recorded, each inside its own ``BEGIN IMMEDIATE`` transaction together with its
``_migrations`` row, so a crash leaves the database at a recorded version. Never change a
released migration and never add columns on the fly: append a new function to ``MIGRATIONS``.

Statements run one at a time through ``execute`` (``executescript`` would commit on its own).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, statements: list[str]) -> None:
    for sql in statements:
        conn.execute(sql)


def m001_core(conn: sqlite3.Connection) -> None:
    """Feeds (with URL aliases after 301s), entries with states, tombstones, meta."""
    _run(conn, [
        """CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,            -- current URL (a 301 replaces it)
            config_url TEXT NOT NULL UNIQUE,     -- the URL as written in config.toml
            name TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',     -- JSON list
            interval INTEGER,                    -- minutes; NULL = the configured default
            active INTEGER NOT NULL DEFAULT 1,   -- 0 = no longer in config (kept, not deleted)
            etag TEXT,
            last_modified TEXT,
            last_checked TEXT,
            last_ok TEXT,
            next_check TEXT,
            last_error TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            gone INTEGER NOT NULL DEFAULT 0,     -- 410 Gone: never polled again
            retry_after_until TEXT,              -- a server's Retry-After in force until then
            entry_count INTEGER NOT NULL DEFAULT 0,  -- entries in the document at the last poll
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE feed_urls (
            url TEXT PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE
        )""",
        """CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            feed_url TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            link TEXT,
            title TEXT NOT NULL DEFAULT '',
            published TEXT,
            summary TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'fetched', 'extracted', 'alerted', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_try TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (feed_url, entry_id)
        )""",
        "CREATE INDEX entries_state ON entries (state, next_try)",
        "CREATE INDEX entries_entry_id ON entries (entry_id)",
        """CREATE TABLE tombstones (
            feed_url TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            deleted_at TEXT NOT NULL,
            PRIMARY KEY (feed_url, entry_id)
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    ])


def m002_articles_facts(conn: sqlite3.Connection) -> None:
    """Articles, companies and typed facts with evidence, plus their indexes."""
    _run(conn, [
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            entry_rowid INTEGER UNIQUE REFERENCES entries(id) ON DELETE SET NULL,
            url TEXT,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            published TEXT,
            source TEXT NOT NULL DEFAULT 'page',
            language TEXT,
            author TEXT,
            content_hash TEXT,
            extractor_version TEXT,
            fetched_at TEXT NOT NULL,
            text_purged_at TEXT
        )""",
        "CREATE INDEX articles_url ON articles (url)",
        "CREATE INDEX articles_published ON articles (published)",
        """CREATE TABLE companies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            aliases TEXT NOT NULL DEFAULT '[]',
            first_seen TEXT NOT NULL
        )""",
        """CREATE TABLE facts (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            type TEXT NOT NULL CHECK (type IN ('emission_change', 'investment', 'target')),
            company TEXT,
            metric TEXT,
            direction TEXT,
            value REAL,
            unit TEXT,
            base_year INTEGER,
            year INTEGER,
            status TEXT,
            amount REAL,
            currency TEXT,
            purpose TEXT,
            by_year INTEGER,
            goal TEXT,
            evidence TEXT,                 -- the sentence
            evidence_start INTEGER,        -- character offsets into the article text
            evidence_end INTEGER,
            confidence REAL,
            extractor_version TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX facts_company ON facts (company COLLATE NOCASE, type, year)",
        "CREATE INDEX facts_type ON facts (type, status, metric)",
        "CREATE INDEX facts_year ON facts (year)",
        "CREATE INDEX facts_article ON facts (article_id)",
    ])


def m003_alerts_outbox(conn: sqlite3.Connection) -> None:
    """Alerts with their sources, and the delivery outbox (alert x channel)."""
    _run(conn, [
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            company TEXT NOT NULL,
            metric TEXT NOT NULL,
            direction TEXT NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            status TEXT NOT NULL,
            year INTEGER,
            base_year INTEGER,
            period INTEGER,                -- year, else base year
            severity TEXT NOT NULL DEFAULT 'normal',
            contradiction TEXT,
            article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        )""",
        "CREATE INDEX alerts_group ON alerts (company COLLATE NOCASE, metric, period, unit)",
        "CREATE INDEX alerts_first_seen ON alerts (first_seen)",
        """CREATE TABLE alert_sources (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            url TEXT,
            outlet TEXT NOT NULL,          -- host of the URL (or of the feed), without www.
            title TEXT NOT NULL DEFAULT '',
            feed TEXT,
            published TEXT,
            sentence TEXT NOT NULL DEFAULT '',
            article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            added_at TEXT NOT NULL
        )""",
        "CREATE INDEX alert_sources_alert ON alert_sources (alert_id)",
        """CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            message_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
            alert_count INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX deliveries_channel ON deliveries (channel, state)",
        """CREATE TABLE delivery_items (
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
            delivery_id INTEGER REFERENCES deliveries(id),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_try TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (alert_id, channel)
        )""",
        "CREATE INDEX delivery_items_delivery ON delivery_items (delivery_id)",
    ])


# The triggers that keep the FTS tables in step with articles and facts (migrations 4 and 6).
_ARTICLES_FTS_TRIGGERS = [
        """CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
        """CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        END""",
        """CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
            INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
]
_FACTS_FTS_TRIGGERS = [
        """CREATE TRIGGER facts_fts_ai AFTER INSERT ON facts BEGIN
            INSERT INTO facts_fts (rowid, evidence) VALUES (new.id, new.evidence);
        END""",
        """CREATE TRIGGER facts_fts_ad AFTER DELETE ON facts BEGIN
            INSERT INTO facts_fts (facts_fts, rowid, evidence) VALUES ('delete', old.id, old.evidence);
        END""",
        """CREATE TRIGGER facts_fts_au AFTER UPDATE OF evidence ON facts BEGIN
            INSERT INTO facts_fts (facts_fts, rowid, evidence) VALUES ('delete', old.id, old.evidence);
            INSERT INTO facts_fts (rowid, evidence) VALUES (new.id, new.evidence);
        END""",
]
_FTS_REBUILD = [
    "INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')",
    "INSERT INTO facts_fts (facts_fts) VALUES ('rebuild')",
]


def m004_fts(conn: sqlite3.Connection) -> None:
    """FTS5 over articles(title, text) and facts(evidence), kept in step by triggers."""
    _run(conn, [
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id')",
        *_ARTICLES_FTS_TRIGGERS,
        "CREATE VIRTUAL TABLE facts_fts USING fts5(evidence, content='facts', content_rowid='id')",
        *_FACTS_FTS_TRIGGERS,
        *_FTS_REBUILD,
    ])


def m005_views(conn: sqlite3.Connection) -> None:
    """Views for people: emission_increases, company_timeline, latest_alerts."""
    _run(conn, [
        """CREATE VIEW emission_increases AS
            SELECT f.id AS fact_id, f.company, f.metric, f.value, f.unit, f.base_year, f.year,
                   f.status, f.evidence, a.url, a.title, a.published, f.article_id
            FROM facts f JOIN articles a ON a.id = f.article_id
            WHERE f.type = 'emission_change' AND f.direction = 'increase'""",
        """CREATE VIEW company_timeline AS
            SELECT f.company,
                   COALESCE(f.year, f.by_year, f.base_year, CAST(substr(a.published, 1, 4) AS INTEGER)) AS year,
                   f.type,
                   CASE f.type
                     WHEN 'emission_change' THEN
                       f.direction || ' ' || f.value || f.unit || ' ' || f.metric || ' (' || f.status || ')'
                     WHEN 'investment' THEN
                       f.amount || ' ' || f.currency || COALESCE(' ' || f.purpose, '') || ' (' || f.status || ')'
                     ELSE f.goal
                   END AS summary,
                   f.metric, f.direction, f.value, f.unit, f.amount, f.currency, f.goal, f.status,
                   f.evidence, a.url, a.published, f.id AS fact_id
            FROM facts f JOIN articles a ON a.id = f.article_id
            WHERE f.company IS NOT NULL""",
        """CREATE VIEW latest_alerts AS
            SELECT al.id, al.company, al.metric, al.direction, al.value, al.unit, al.year, al.base_year,
                   al.status, al.severity, al.contradiction, al.first_seen, al.last_seen,
                   (SELECT COUNT(DISTINCT s.outlet) FROM alert_sources s WHERE s.alert_id = al.id) AS outlets,
                   (SELECT group_concat(s.url, ' ') FROM alert_sources s WHERE s.alert_id = al.id) AS sources
            FROM alerts al
            ORDER BY al.first_seen DESC, al.id DESC""",
    ])


def m006_fts_for_tools(conn: sqlite3.Connection) -> None:
    """FTS tables declared with ``content="articles"`` / ``content="facts"`` (double quotes), the
    form Datasette and ``sqlite-utils search`` detect, so their search works on the store as it
    is; plus an index for finding an article's alert sources (reprocess)."""
    _run(conn, [
        "DROP TRIGGER articles_fts_ai", "DROP TRIGGER articles_fts_ad", "DROP TRIGGER articles_fts_au",
        "DROP TRIGGER facts_fts_ai", "DROP TRIGGER facts_fts_ad", "DROP TRIGGER facts_fts_au",
        "DROP TABLE articles_fts", "DROP TABLE facts_fts",
        'CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content="articles", content_rowid="id")',
        *_ARTICLES_FTS_TRIGGERS,
        'CREATE VIRTUAL TABLE facts_fts USING fts5(evidence, content="facts", content_rowid="id")',
        *_FACTS_FTS_TRIGGERS,
        *_FTS_REBUILD,
        "CREATE INDEX alert_sources_article ON alert_sources (article_id)",
    ])


def m007_feed_origin(conn: sqlite3.Connection) -> None:
    """Where a feed comes from: ``config`` ([[feeds]], synced each cycle) or ``user`` (added with
    ``pledgewatch feeds add`` / ``import-opml``, kept until ``feeds remove``)."""
    _run(conn, [
        "ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'config' CHECK (origin IN ('config', 'user'))",
    ])


def m008_alert_kinds(conn: sqlite3.Connection) -> None:
    """Alert kinds: ``emission`` (an emission increase) or ``investment`` (a large investment, its
    amount in US dollars through the static FX table of ``fx_date``, and its purpose)."""
    _run(conn, [
        "ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'emission' "
        "CHECK (kind IN ('emission', 'investment'))",
        "ALTER TABLE alerts ADD COLUMN amount_usd REAL",
        "ALTER TABLE alerts ADD COLUMN fx_date TEXT",
        "ALTER TABLE alerts ADD COLUMN purpose TEXT",
        "CREATE INDEX delivery_items_channel_state ON delivery_items (channel, state, next_try)",
    ])


def m009_story_clusters(conn: sqlite3.Connection) -> None:
    """Story clusters (issue 4): each article's MinHash signature and cluster, LSH bucket keys for
    candidate lookup, and the views ``story_clusters`` and ``alert_reports`` (independent
    reports vs outlets per alert). See ``monitor/clusters.py``."""
    _run(conn, [
        """CREATE TABLE article_clusters (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            cluster_id INTEGER NOT NULL,   -- id of the story's first article
            outlet TEXT NOT NULL DEFAULT '',
            signature BLOB,                -- MinHash, 128 little-endian uint32; NULL: text too short
            matched_article INTEGER,       -- the confirmed near-duplicate that placed it here
            similarity REAL,               -- Jaccard of word shingles with that article
            duplicate_of INTEGER,          -- the same outlet's earlier copy: no facts or alerts again
            seen_at TEXT NOT NULL
        )""",
        "CREATE INDEX article_clusters_cluster ON article_clusters (cluster_id)",
        "CREATE INDEX article_clusters_seen ON article_clusters (seen_at)",
        """CREATE TABLE lsh_buckets (
            bucket INTEGER NOT NULL,       -- hash of one band of the signature
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            PRIMARY KEY (bucket, article_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX lsh_buckets_article ON lsh_buckets (article_id)",
        """CREATE VIEW story_clusters AS
            SELECT c.cluster_id,
                   (SELECT title FROM articles WHERE id = c.cluster_id) AS title,
                   COUNT(*) AS articles,
                   COUNT(DISTINCT c.outlet) AS outlets,
                   SUM(c.duplicate_of IS NOT NULL) AS duplicates,
                   group_concat(DISTINCT c.outlet) AS outlet_names,
                   MIN(COALESCE(a.published, a.fetched_at)) AS first_published,
                   MAX(c.seen_at) AS last_seen
            FROM article_clusters c JOIN articles a ON a.id = c.article_id
            GROUP BY c.cluster_id""",
        """CREATE VIEW alert_reports AS
            SELECT s.alert_id,
                   COUNT(DISTINCT s.outlet) AS outlets,
                   COUNT(DISTINCT COALESCE(c.cluster_id, s.article_id, -s.id)) AS independent_reports
            FROM alert_sources s LEFT JOIN article_clusters c ON c.article_id = s.article_id
            GROUP BY s.alert_id""",
    ])


def m010_articles_when(conn: sqlite3.Connection) -> None:
    """An index on when an article appeared (published, else fetched): ``query facts`` pages
    newest first and filters by ``--since``/``--until`` on this expression (issue 6)."""
    _run(conn, ["CREATE INDEX articles_when ON articles (COALESCE(published, fetched_at))"])


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "core: feeds, entries, tombstones, meta", m001_core),
    (2, "articles, companies, facts", m002_articles_facts),
    (3, "alerts, alert_sources, deliveries outbox", m003_alerts_outbox),
    (4, "fts5 over articles and fact evidence", m004_fts),
    (5, "views: emission_increases, company_timeline, latest_alerts", m005_views),
    (6, "fts tables detectable by datasette and sqlite-utils; alert_sources(article_id) index", m006_fts_for_tools),
    (7, "feeds.origin: config or user (feeds add / import-opml)", m007_feed_origin),
    (8, "alerts.kind (emission, investment), amount_usd, fx_date, purpose; delivery_items index", m008_alert_kinds),
    (9, "story clusters: article_clusters, lsh_buckets, views story_clusters and alert_reports",
     m009_story_clusters),
    (10, "articles index on publication (else fetch) time, for query facts newest first", m010_articles_when),
]
LATEST = max(m[0] for m in MIGRATIONS)


def ensure_migrations_table(conn: sqlite3.Connection) -> None:
    """Create ``_migrations`` when absent (idempotent)."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    """The versions recorded in ``_migrations``."""
    return {row[0] for row in conn.execute("SELECT version FROM _migrations")}


def migrate(conn: sqlite3.Connection, target: int | None = None) -> list[int]:
    """Apply every pending migration up to ``target`` (default: all); returns those applied.

    Each runs in its own ``BEGIN IMMEDIATE`` transaction with its ``_migrations`` row; the
    pending check is repeated inside the transaction so two processes opening a new database at
    once do not both apply a migration. ``conn`` must be in autocommit mode
    (``isolation_level=None``). sqlite3 errors propagate; the store converts them.
    """
    ensure_migrations_table(conn)
    done: list[int] = []
    for version, name, func in sorted(MIGRATIONS, key=lambda m: m[0]):
        if target is not None and version > target:
            break
        if version in applied_versions(conn):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version not in applied_versions(conn):
                func(conn)
                conn.execute("INSERT INTO _migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             (version, name, datetime.now(UTC).isoformat(timespec="seconds")))
                done.append(version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return done


__all__ = ["LATEST", "MIGRATIONS", "applied_versions", "ensure_migrations_table", "migrate"]
