"""SIGHUP reloads config.toml in a running `pledgewatch run` subprocess, without a restart.

A loopback HTTP server serves the feeds and article pages; the daemon's log and the server's
request log tell what it did. Feeds added are polled, feeds removed are deactivated, alert rules
changed apply to the next articles, and a bad new config is refused with a log line while the old
one keeps running.
"""

from __future__ import annotations

import re
import signal
import time

from monitor.daemon import last_cycle
from monitor.store import Store
from tests.test_daemon import daemons, rss, serve_empty_feed, wait_for, write_config  # noqa: F401

MICROSOFT = "Microsoft said its greenhouse gas emissions rose 12% in 2024 compared with 2023."
SHELL = "Shell said its greenhouse gas emissions rose 7% in 2024 compared with 2023."


def serve_article_feed(srv, name: str, sentence: str) -> str:
    """A feed at /NAME.xml with one entry whose page states ``sentence``."""
    page = (f"<!doctype html><html><head><title>{name} update</title></head><body><article>"
            f"<h1>{name} update</h1><p>{sentence}</p><p>Analysts said the results were in line with "
            "expectations.</p></article></body></html>")
    srv.route(f"/{name}.html", page, headers={"Content-Type": "text/html; charset=utf-8"})
    srv.route(f"/{name}.xml", rss(name, [(srv.url(f"/{name}.html"), f"{name} update", "")]),
              headers={"Content-Type": "application/rss+xml"})
    return srv.url(f"/{name}.xml")


def alert_companies(db) -> list[str]:
    with Store.open_readonly(db) as store:
        return sorted(a.company for a in store.alerts())


def entries_alerted(db) -> int:
    try:
        with Store.open_readonly(db) as store:
            return store.status()["entries_alerted"]
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def last_cycle_finished(db) -> str | None:
    with Store.open_readonly(db) as store:
        return (last_cycle(store) or {}).get("finished")


def test_sighup_adds_and_removes_feeds_and_refuses_a_bad_config(tmp_path, http_server, daemons):  # noqa: F811
    db = tmp_path / "pw.db"
    a, b = serve_empty_feed(http_server, "/a.xml"), serve_empty_feed(http_server, "/b.xml")
    cfg = write_config(tmp_path / "config.toml", db, [a])
    d = daemons(cfg, tmp_path / "daemon.log")
    d.wait_log(r"daemon started")
    wait_for(lambda: http_server.hits("/a.xml") >= 1, 30, "the first poll of a", d.log)
    assert http_server.hits("/b.xml") == 0

    write_config(cfg, db, [a, b])  # b added
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: http_server.hits("/b.xml") >= 1, 30, "the added feed to be polled", d.log)
    assert "feed added: " + b in d.log()

    cfg.write_text(cfg.read_text() + '\n[fetch]\ntimeout = "ten"\n')  # not valid TOML: [fetch] twice
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"SIGHUP: new config refused, keeping the old one: .*config\.toml", timeout=30)
    write_config(cfg, db, [a], extra='[alerts]\nmin_percent = "x"')  # valid TOML, bad value
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"refused, keeping the old one: .*\[alerts\] min_percent", timeout=30)
    assert d.proc.poll() is None, "a bad config must not stop the daemon"
    assert "feed removed" not in d.log(), "the refused config (without b) must not be applied"

    write_config(cfg, db, [a])  # b removed
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"feed removed: " + re.escape(b), timeout=30)

    def b_inactive() -> bool:
        with Store.open_readonly(db) as store:
            return {f.url: f.active for f in store.feed_rows()} == {a: True, b: False}
    wait_for(b_inactive, 30, "feed b to become inactive", d.log)
    hits_b, cycle = http_server.hits("/b.xml"), last_cycle_finished(db)
    d.proc.send_signal(signal.SIGHUP)  # another reload runs a cycle at once: b is not polled
    wait_for(lambda: last_cycle_finished(db) != cycle, 30, "a cycle after the reload", d.log)
    assert http_server.hits("/b.xml") == hits_b
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(15) == 0, d.log()


def test_sighup_changes_alert_rules_for_the_next_articles(tmp_path, http_server, daemons):  # noqa: F811
    """Rules changed by a reload: an article seen under a watchlist that excludes it raises no
    alert; after the reload (watchlist emptied, a feed added) the next article's rise alerts."""
    db = tmp_path / "pw.db"
    ms = serve_article_feed(http_server, "microsoft", MICROSOFT)
    shell = serve_article_feed(http_server, "shell", SHELL)
    cfg = write_config(tmp_path / "config.toml", db, [ms], extra='[alerts]\nwatchlist = ["Unilever"]')
    d = daemons(cfg, tmp_path / "daemon.log")
    d.wait_log(r"daemon started")
    wait_for(lambda: entries_alerted(db) == 1, 90, "the Microsoft article to be processed", d.log)
    assert alert_companies(db) == [], "Microsoft is not on the watchlist"

    write_config(cfg, db, [ms, shell], extra="[alerts]\nwatchlist = []")
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"SIGHUP: \[alerts\] changed: watchlist \('Unilever',\) -> \(\)", timeout=30)
    wait_for(lambda: entries_alerted(db) == 2, 60, "the Shell article to be processed", d.log)
    print(f"\nreload to new article processed: {time.monotonic() - t0:.1f} s")
    assert alert_companies(db) == ["Shell"], "new rules apply to new articles; old ones are not redone"
    assert http_server.hits("/shell.xml") >= 1
    assert d.proc.poll() is None
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(15) == 0, d.log()
