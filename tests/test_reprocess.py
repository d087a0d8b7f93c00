"""`pledgewatch reprocess`: the pure diff, and the command against a real store and the real extractor.

The "extractor change" is simulated the other way round: the store holds facts that differ from
what the real extractor now finds in a short article (one changed, one that no longer exists,
one missing), with alerts raised from the stale facts (one already sent, one not).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.alerts import alert_key, severity
from monitor.cli import cli
from monitor.config import AlertConfig, load_config
from monitor.reprocess import (
    ArticleResult,
    FactDiff,
    diff_facts,
    fact_from_row,
    plan_alerts,
)
from monitor.store import Store
from monitor.types import Article, EmissionChange, Evidence, Fact, FeedEntry, Investment, Source, Target

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
FEED = "http://127.0.0.1:9/feed.xml"
TEXT = ("Lufthansa said on Tuesday that its greenhouse gas emissions rose 8% in 2023 compared with 2022. "
        "The airline has pledged to reach net zero emissions by 2050. "
        "Lufthansa will invest €2 billion in sustainable aviation fuel by 2030.")
TITLE = "Lufthansa emissions rise"
PUBLISHED = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def ev(sentence: str, start: int, conf: float = 0.9) -> Evidence:
    return Evidence(sentence, start, start + len(sentence), conf)


def inc(value: float = 8.0, company: str = "Acme", start: int = 0, metric: str = "ghg") -> EmissionChange:
    return EmissionChange(company, metric, "increase", value, "%", 2022, 2023, "reported",
                          evidence=ev("Acme emissions rose.", start))


# -- the pure diff ---------------------------------------------------------------------------

def test_diff_facts_new_changed_gone_unchanged() -> None:
    same = Target("Acme", "net zero", 2040, evidence=ev("Acme pledged net zero by 2040.", 40))
    old = [inc(8.0), same, Investment("Acme", 1e9, "USD", "wind", None, "announced", evidence=ev("x", 80))]
    new = [same, inc(9.0), inc(3.0, metric="scope1", start=120)]
    d = diff_facts(old, new)
    assert d.unchanged == 1
    assert [(c.old.value, c.new.value, c.fields) for c in d.changed] == [(8.0, 9.0, ("value",))]  # type: ignore[union-attr]
    assert [f.type for f in d.gone] == ["investment"]
    assert [f.metric for f in d.new] == ["scope1"]  # type: ignore[union-attr]
    assert not d.empty and FactDiff().empty


def test_diff_ignores_confidence_and_order_but_not_offsets() -> None:
    a = inc(8.0)
    assert diff_facts([a, inc(5.0, start=50)], [inc(5.0, start=50), replace(a, evidence=ev(a.evidence.sentence, 0,
                                                                                              0.2))]).empty
    moved = diff_facts([a], [inc(8.0, start=7)])
    assert moved.gone and moved.new and not moved.changed  # another sentence: a different fact


def test_fact_from_row_round_trips_through_the_store(tmp_path: Path) -> None:
    facts: list[Fact] = [inc(8.0), Target("Acme", "net zero", None, evidence=None),
                         Investment("Acme", 2.5e9, "EUR", None, 2030, "spent", evidence=ev("y", 3, 0.25))]
    with Store.open(tmp_path / "pw.db") as store:
        rowid = store.add_entry(FeedEntry(FEED, "g1", "https://a.example/1", "t"), T0)
        assert rowid is not None
        aid = store.save_extraction(rowid, Article("https://a.example/1", "t", "text"), facts, "v1", T0)
        back = [fact_from_row(r) for r in store.facts_of_articles([aid])[aid]]
    assert back == facts


def _article(aid: int, url: str, facts: list[Fact]) -> ArticleResult:
    return ArticleResult(article_id=aid, url=url, title="t", feed_url=FEED, published=T0, facts=tuple(facts),
                         diff=FactDiff(), rewrite=True)


def test_plan_alerts_new_changed_gone_and_one_source_per_outlet() -> None:
    rules = AlertConfig()
    a1 = _article(1, "https://one.example/a", [inc(9.0)])
    a2 = _article(2, "https://one.example/b", [inc(9.0)])  # same outlet as a1
    a3 = _article(3, "https://two.example/c", [inc(9.0), inc(4.0, company="Globex")])
    links = [
        # 8% alert backed by articles 1 (reprocessed, no longer says so) and 7 (not reprocessed): changed
        {"id": 10, "key": alert_key(inc(8.0)), "sources": [{"article_id": 1, "outlet": "one.example"},
                                                           {"article_id": 7, "outlet": "seven.example"}],
         "delivered": []},
        # Globex 4% already backed by article 3: unchanged
        {"id": 11, "key": alert_key(inc(4.0, company="Globex")),
         "sources": [{"article_id": 3, "outlet": "two.example"}], "delivered": []},
        # backed only by article 2, which no longer says so, already sent: gone but kept
        {"id": 12, "key": alert_key(inc(1.0)), "sources": [{"article_id": 2, "outlet": "one.example"}],
         "delivered": ["smtp"]},
    ]
    changes = {c.key: c for c in plan_alerts([a1, a2, a3], links, rules)}
    assert set(changes) == {alert_key(inc(8.0)), alert_key(inc(9.0)), alert_key(inc(1.0))}
    changed = changes[alert_key(inc(8.0))]
    assert (changed.kind, changed.removed, changed.added) == ("changed", (1,), ())
    new = changes[alert_key(inc(9.0))]
    assert new.kind == "new" and [a for a, _ in new.added] == [1, 3]  # article 2 shares article 1's outlet
    gone = changes[alert_key(inc(1.0))]
    assert gone.kind == "gone" and gone.kept_because_sent and gone.removed == (2,)
    # Watchlist rules apply: only Globex alerts now.
    only = plan_alerts([a3], [], AlertConfig(watchlist=("Globex",)))
    assert [c.key for c in only] == [alert_key(inc(4.0, company="Globex"))]


# -- the command, with the real extractor ----------------------------------------------------

@pytest.fixture(scope="module")
def real_facts() -> list[Fact]:
    try:
        from monitor.extract import Extractor
    except ImportError as e:
        pytest.skip(f"the extractor (monitor.extract.Extractor) does not import yet: {e}")
    cfg = load_config(None)
    extractor = Extractor.load(cfg.extract.model, cfg.extract.models_dir)
    (facts,) = list(extractor.extract_many([(TEXT, TITLE, PUBLISHED.date())]))
    facts = list(facts)
    assert len(facts) >= 2, f"the extractor should find an emission change and more in: {TEXT!r} -> {facts}"
    assert any(_alerting(f) for f in facts), facts
    return facts


def _alerting(f: Fact) -> bool:
    return isinstance(f, EmissionChange) and f.direction == "increase" and f.status == "reported" and bool(f.company)


def _stale(real: list[Fact], bump: float, drop_last: bool) -> tuple[list[Fact], EmissionChange]:
    """Facts as an older extractor might have stored them: the alerting change with another value,
    (optionally) the last fact missing, and a pledge that is no longer found."""
    i = next(n for n, f in enumerate(real) if _alerting(f))
    changed = replace(real[i], value=real[i].value + bump)  # type: ignore[type-var]
    assert isinstance(changed, EmissionChange)
    rest = [f for n, f in enumerate(real) if n != i]
    if drop_last:
        rest = rest[:-1]
    bogus = Target("Nobody Holdings", "carbon negative", 2099, evidence=Evidence("Nobody pledged.", 0, 15, 0.5))
    return [changed, *rest, bogus], changed


def _add(store: Store, n: int, url: str, facts: list[Fact], published: datetime = PUBLISHED) -> int:
    rowid = store.add_entry(FeedEntry(FEED, f"g{n}", url, TITLE, published=published), T0)
    assert rowid is not None
    article = Article(url=url, title=TITLE, text=TEXT, published=published, language="en")
    return store.save_extraction(rowid, article, facts, "old-0", T0)


def _alert(store: Store, fact: EmissionChange, article_id: int, url: str) -> int:
    src = Source(url=url, title=TITLE, feed=FEED, published=PUBLISHED, sentence=TEXT[:60])
    alert_id, created = store.record_alert(fact, key=alert_key(fact), article_id=article_id, source=src, now=T0,
                                           severity=severity(fact.value, fact.unit, 1))
    assert created
    return alert_id


@pytest.fixture
def stale_db(tmp_path: Path, real_facts: list[Fact]) -> dict[str, object]:
    """Two copies of the article from two outlets, stored with stale facts and alerts."""
    path = tmp_path / "pw.db"
    a_facts, a_change = _stale(real_facts, 5.0, drop_last=True)
    b_facts, b_change = _stale(real_facts, 7.0, drop_last=False)
    with Store.open(path) as store:
        a = _add(store, 1, "https://outlet-a.example/lufthansa", a_facts)
        b = _add(store, 2, "https://outlet-b.example/lufthansa", b_facts)
        sent = _alert(store, a_change, a, "https://outlet-a.example/lufthansa")
        unsent = _alert(store, b_change, b, "https://outlet-b.example/lufthansa")
        delivery = store.begin_delivery("smtp", [sent], T0, "<m1@test>")
        store.finish_delivery(delivery, T0, ok=True)
    return {"path": path, "articles": (a, b), "sent": sent, "unsent": unsent, "n_real": len(real_facts),
            "sent_key": alert_key(a_change), "unsent_key": alert_key(b_change)}


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reprocess(path: Path, *extra: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, ["reprocess", "--db", str(path), *extra], env={"PLEDGEWATCH_CONFIG": ""})
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return result.stdout, result.stderr


def test_dry_run_changes_nothing_and_reports_the_diff(stale_db: dict[str, object]) -> None:
    path = stale_db["path"]
    assert isinstance(path, Path)
    _checkpoint(path)
    before = _hash(path)
    out, err = _reprocess(path, "--dry-run")
    assert _hash(path) == before  # byte for byte
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    n = int(stale_db["n_real"])  # type: ignore[call-overload]
    # A: 1 changed, 1 gone (bogus pledge), 1 new (the dropped last fact), n - 2 unchanged.
    # B: 1 changed, 1 gone, n - 1 unchanged.
    assert f"Facts: 1 new, 2 changed, 2 gone, {2 * n - 3} unchanged." in out, out
    assert out.count("  ~ [article") == 2 and out.count("  - [article") == 2 and out.count("  + [article") == 1
    assert "Nobody Holdings: pledge carbon negative by 2099" in out
    assert "Alerts: 1 new, 0 changed, 1 gone, 1 no longer supported but already sent (kept)." in out, out
    assert f"alert {stale_db['sent']} " in out and "kept: already sent on smtp" in out
    assert f"alert {stale_db['unsent']} " in out and "deleted: never sent" in out
    assert "(2 sources)" in out  # the new alert, backed by both outlets
    assert out.rstrip().endswith("Dry run: nothing was changed.")
    assert "extracting" in err  # the progress bar is on stderr


def test_reprocess_applies_and_never_resends_delivered_alerts(stale_db: dict[str, object],
                                                             real_facts: list[Fact]) -> None:
    path = stale_db["path"]
    assert isinstance(path, Path)
    out, _ = _reprocess(path)
    assert "Applied: facts of 2 articles rewritten, 1 alerts created, 2 alert sources added, 1 alerts deleted, " \
           "1 already-sent alerts kept." in out, out
    with Store.open_readonly(path) as store:
        a, b = stale_db["articles"]  # type: ignore[misc]
        stored = store.facts_of_articles([a, b])
        for aid in (a, b):
            assert diff_facts([fact_from_row(r) for r in stored[aid]], real_facts).empty
            assert {r["extractor_version"] for r in stored[aid]} != {"old-0"}
        alerts = {al.id: al for al in store.alerts()}
        keys = {al.key for al in alerts.values()}
        assert stale_db["sent"] in alerts  # delivered: kept as it was sent
        assert stale_db["unsent"] not in alerts  # never sent and no longer supported: gone
        assert stale_db["unsent_key"] not in keys and stale_db["sent_key"] in keys
        (new_id,) = set(alerts) - {stale_db["sent"]}
        assert {s.url for s in alerts[new_id].sources} == {"https://outlet-a.example/lufthansa",
                                                            "https://outlet-b.example/lufthansa"}
        assert store.undelivered_alert_ids("smtp") == [new_id]  # the sent alert is not sent again
    again, _ = _reprocess(path)
    assert "Facts: 0 new, 0 changed, 0 gone" in again and "Alerts: 0 new, 0 changed, 0 gone" in again, again
    assert "Applied: facts of 0 articles rewritten, 0 alerts created, 0 alert sources added, 0 alerts deleted" \
        in again


def test_since_and_purged_articles_are_left_alone(stale_db: dict[str, object]) -> None:
    path = stale_db["path"]
    assert isinstance(path, Path)
    out, _ = _reprocess(path, "--dry-run", "--since", "2030-01-01")
    assert out.startswith("Reprocessed 0 articles") and "Facts: 0 new, 0 changed, 0 gone" in out
    with Store.open(path) as store:
        assert store.purge_article_text(datetime(2100, 1, 1, tzinfo=UTC), T0) == 2
    out, _ = _reprocess(path, "--dry-run")
    assert out.startswith("Reprocessed 0 articles with extractor") and "(2 skipped: 2 text purged)" in out


def test_reprocess_on_missing_database_for_dry_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["reprocess", "--dry-run", "--db", str(tmp_path / "none.db")],
                                env={"PLEDGEWATCH_CONFIG": ""})
    assert result.exit_code == 1 and "no such database" in result.stderr
    assert not (tmp_path / "none.db").exists()



# -- a real extractor change: an edited copy of models/ -----------------------------------------

def _edited_models(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of models/ with ``edit`` applied to its emission cues (the extractor's data, not code)."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models)
    cues_path = models / "emission_cues.json"
    cues = json.loads(cues_path.read_text(encoding="utf-8"))
    edit(cues)
    cues_path.write_text(json.dumps(cues), encoding="utf-8")
    return models


def _config_for(tmp_path: Path, models: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[extract]\nmodels_dir = "{models}"\n', encoding="utf-8")
    return cfg


@pytest.fixture
def current_db(tmp_path: Path, real_facts: list[Fact]) -> dict[str, Any]:
    """The article stored with the facts the current extractor finds, and the alert they raise."""
    from monitor.extract import EXTRACTOR_VERSION

    path = tmp_path / "pw.db"
    url = "https://outlet-a.example/lufthansa"
    with Store.open(path) as store:
        rowid = store.add_entry(FeedEntry(FEED, "g1", url, TITLE, published=PUBLISHED), T0)
        assert rowid is not None
        article = Article(url=url, title=TITLE, text=TEXT, published=PUBLISHED, language="en")
        article_id = store.save_extraction(rowid, article, real_facts, EXTRACTOR_VERSION, T0)
        change = next(f for f in real_facts if _alerting(f))
        assert isinstance(change, EmissionChange)
        alert_id = _alert(store, change, article_id, url)
    return {"path": path, "article": article_id, "alert": alert_id, "change": change, "n": len(real_facts)}


def _files_hash(path: Path) -> tuple[str, str]:
    wal = path.with_name(path.name + "-wal")
    return _hash(path), _hash(wal) if wal.exists() else ""


def test_dry_run_after_a_model_change_reports_the_diff_and_leaves_db_and_wal_untouched(
        current_db: dict[str, Any], tmp_path: Path) -> None:
    def scope1_wording(cues: dict[str, Any]) -> None:
        cues["metric_nouns"]["scope1"].insert(0, "greenhouse gas emissions")

    cfg = _config_for(tmp_path, _edited_models(tmp_path, scope1_wording))
    path: Path = current_db["path"]
    # Another connection keeps committed pages in the WAL (as a running daemon would).
    keeper = sqlite3.connect(path, isolation_level=None)
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    keeper.execute("INSERT INTO meta (key, value) VALUES ('keeper', 'x')")
    try:
        before = _files_hash(path)
        assert before[1], "the WAL holds pages"
        out, _ = _reprocess(path, "--dry-run", "--config", str(cfg))
        assert _files_hash(path) == before  # the database and its WAL, byte for byte
    finally:
        keeper.close()
    n = current_db["n"]
    assert f"Facts: 0 new, 1 changed, 0 gone, {n - 1} unchanged." in out, out
    assert "metric: ghg -> scope1" in out and out.count("  ~ [article") == 1
    old_key = alert_key(current_db["change"])
    new_key = alert_key(replace(current_db["change"], metric="scope1"))
    assert "Alerts: 1 new, 0 changed, 1 gone." in out, out
    assert f"- alert {current_db['alert']} {old_key} (deleted: never sent)" in out
    assert f"+ alert {new_key} (1 source)" in out
    # Applied, the store says what the dry run said.
    _reprocess(path, "--config", str(cfg))
    with Store.open_readonly(path) as store:
        (row,) = store.facts(type="emission_change")
        assert row["metric"] == "scope1"
        assert [a.key for a in store.alerts()] == [new_key]


def test_a_model_change_never_resends_a_delivered_alert(current_db: dict[str, Any], tmp_path: Path) -> None:
    def no_rise_words(cues: dict[str, Any]) -> None:
        cues["increase_words"] = [w for w in cues["increase_words"] if not w.startswith(("rise", "ris", "rose"))]

    cfg = _config_for(tmp_path, _edited_models(tmp_path, no_rise_words))
    path: Path = current_db["path"]
    with Store.open(path) as store:
        store.finish_delivery(store.begin_delivery("smtp", [current_db["alert"]], T0, "<m@test>"), T0, ok=True)
    out, _ = _reprocess(path, "--config", str(cfg))
    n = current_db["n"]
    assert f"Facts: 0 new, 0 changed, 1 gone, {n - 1} unchanged." in out, out
    assert "  - [article" in out and "ghg increase 8%" in out
    assert "Alerts: 0 new, 0 changed, 0 gone, 1 no longer supported but already sent (kept)." in out, out
    with Store.open_readonly(path) as store:
        assert store.facts(type="emission_change") == []
        assert [a.id for a in store.alerts()] == [current_db["alert"]]  # kept as it was sent
        assert store.undelivered_alert_ids("smtp") == []  # and not sent again
    # Back to the shipped model: the fact returns and merges into the delivered alert (same key).
    out, _ = _reprocess(path)
    assert "Facts: 1 new, 0 changed, 0 gone" in out, out
    with Store.open_readonly(path) as store:
        assert [a.id for a in store.alerts()] == [current_db["alert"]]
        assert store.undelivered_alert_ids("smtp") == []
