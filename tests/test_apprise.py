"""Apprise channels through the outbox, against real HTTP servers on loopback.

A ``json://127.0.0.1:PORT/path`` Apprise URL posts each digest to a local webhook: one post per
digest, never repeated, a failed post retried after its back-off and shown in ``status``, a
crash between sending and recording not repeated, and immediate channels served at the end of
the cycle that raised the alerts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.alerts import alert_key
from monitor.cli import cli
from monitor.config import Config, FeedConfig, config_from_dict
from monitor.service import Service
from monitor.store import Store
from monitor.types import Article, EmissionChange, FeedEntry, Source
from tests.server import LocalServer, Request, Response

T0 = datetime(2025, 7, 3, 8, 0, tzinfo=UTC)
FEED = "https://news.example.com/feed.xml"


def seed_alerts(store: Store, n: int = 2, now: datetime = T0, start: int = 0) -> list[int]:
    """``n`` emission-increase alerts recorded through the store, as the pipeline records them."""
    store.sync_feeds([FeedConfig(url=FEED)], now)
    ids = []
    for i in range(start, start + n):
        url = f"https://news{i}.example.com/story"
        entry = store.add_entry(FeedEntry(FEED, f"e{i}", url, f"Company{i} emissions rise"), now)
        assert entry is not None
        rise = EmissionChange(f"Company{i}", "ghg", "increase", 10.0 + i, "%", 2023, 2024, "reported")
        article = store.save_extraction(entry, Article(url, f"Company{i} emissions rise", "text"), [rise], "t", now)
        alert_id, _ = store.record_alert(rise, key=alert_key(rise), article_id=article, now=now, severity="normal",
                                         source=Source(url, f"Company{i} emissions rise", FEED, now,
                                                       f"Company{i} said its emissions rose {10 + i}% in 2024."))
        ids.append(alert_id)
    return ids


def make_config(tmp_path: Path, apprise: list[dict[str, Any]], **digest: Any) -> Config:
    return config_from_dict({"storage": {"path": str(tmp_path / "pw.db")},
                             "digest": {"apprise": apprise, **digest}}, path=tmp_path / "config.toml")


def hook_url(srv: LocalServer, path: str = "/hook") -> str:
    return f"json://127.0.0.1:{srv.port}{path}"


class WebhookSink:
    """A loopback HTTP server keeping every POSTed JSON body (LocalServer keeps headers only)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.bodies.append({"headers": dict(self.headers), "json": json.loads(data)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def test_webhook_gets_one_post_per_digest_with_subject_and_markdown(tmp_path):
    with WebhookSink() as sink:
        cfg = make_config(tmp_path, [{"name": "hook", "url": f"json://127.0.0.1:{sink.port}/in"}])
        with Service(cfg) as svc:
            seed_alerts(svc.store, 2)
            lines = svc.send_digests(T0)
            assert lines == ["apprise:hook: sent 2 alerts (Pledgewatch: 2 emission increases at 2 companies)"]
            assert svc.send_digests(T0 + timedelta(hours=1)) == ["apprise:hook: nothing new to send"]
            (delivery,) = svc.store.deliveries("apprise:hook")
    assert len(sink.bodies) == 1
    post = sink.bodies[0]
    assert post["json"]["title"] == "Pledgewatch: 2 emission increases at 2 companies"
    message = post["json"]["message"]
    assert "## Company0" in message and "## Company1" in message and "https://news1.example.com/story" in message
    # the idempotency key is the delivery's stable Message-ID
    assert post["headers"]["Idempotency-Key"] == delivery.message_id
    assert delivery.state == "sent" and delivery.alert_ids == (1, 2)


def test_each_alert_reaches_each_channel_once(tmp_path, http_server):
    http_server.route("/a", b"ok")
    http_server.route("/b", b"ok")
    cfg = make_config(tmp_path, [{"name": "a", "url": hook_url(http_server, "/a")},
                                 {"name": "b", "url": hook_url(http_server, "/b")}])
    with Service(cfg) as svc:
        seed_alerts(svc.store, 1)
        svc.send_digests(T0)
        assert seed_alerts(svc.store, 1, now=T0 + timedelta(hours=1), start=1) == [2]
        svc.send_digests(T0 + timedelta(days=1))
        svc.send_digests(T0 + timedelta(days=2))
        per_channel = {d.channel: [x.alert_ids for x in svc.store.deliveries(d.channel)][::-1]
                       for d in svc.store.deliveries()}
    assert per_channel == {"apprise:a": [(1,), (2,)], "apprise:b": [(1,), (2,)]}
    assert (http_server.hits("/a"), http_server.hits("/b")) == (2, 2)


def test_failed_post_is_kept_retried_after_backoff_and_shown_in_status(tmp_path, http_server):
    answers = [500, 500, 200, 200]

    def flaky(req: Request) -> Response:
        return Response(answers.pop(0), b"busy")

    http_server.route("/hook", handler=flaky)
    cfg = make_config(tmp_path, [{"name": "hook", "url": hook_url(http_server)}])
    with Service(cfg) as svc:
        ids = seed_alerts(svc.store, 2)
        (line,) = svc.send_digests(T0)
        assert line.startswith("apprise:hook: failed: ") and "error=500" in line
        (health,) = svc.store.channel_health(svc.channels())
        assert (health["failed"], health["attempts"], health["sent"]) == (2, 1, 0)
        assert health["next_try"] == T0 + timedelta(minutes=15) and "500" in health["last_error"]
        assert svc.store.undelivered_alert_ids("apprise:hook") == ids  # nothing lost

        assert svc.send_immediate_and_retries(T0 + timedelta(minutes=5)) == []  # still backing off
        assert http_server.hits("/hook") == 1
        (line,) = svc.send_immediate_and_retries(T0 + timedelta(minutes=15))
        assert "failed" in line
        (health,) = svc.store.channel_health(svc.channels())
        assert health["attempts"] == 2 and health["next_try"] == T0 + timedelta(minutes=45)  # doubled

        (line,) = svc.send_immediate_and_retries(T0 + timedelta(minutes=45))
        assert line.startswith("apprise:hook: sent 2 alerts")
        (health,) = svc.store.channel_health(svc.channels())
        assert (health["failed"], health["sent"], health["last_error"]) == (0, 2, None)
        assert svc.send_digests(T0 + timedelta(days=1)) == ["apprise:hook: nothing new to send"]
    assert http_server.hits("/hook") == 3


def test_status_lists_failed_deliveries_per_channel(tmp_path, http_server):
    http_server.route("/hook", status=503, body=b"down")
    cfg = make_config(tmp_path, [{"name": "hook", "url": hook_url(http_server)}])
    with Service(cfg) as svc:
        seed_alerts(svc.store, 1)
        svc.send_digests(T0)
    toml = tmp_path / "config.toml"
    toml.write_text(f'[storage]\npath = "pw.db"\n[[digest.apprise]]\nname = "hook"\nurl = "{hook_url(http_server)}"\n')
    result = CliRunner().invoke(cli, ["status", "--config", str(toml)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("apprise:hook"))
    assert "2025-07-03 08:15" in row and "503" in row  # next attempt and last error
    assert row.split()[1:4] == ["0", "0", "1"]  # sent, waiting, failed


def test_url_from_environment_variable(tmp_path, http_server, monkeypatch):
    http_server.route("/secret-token-path", b"ok")
    cfg = make_config(tmp_path, [{"name": "chat", "url_env": "PW_TEST_APPRISE_URL"}])
    with Service(cfg) as svc:
        seed_alerts(svc.store, 1)
        monkeypatch.delenv("PW_TEST_APPRISE_URL", raising=False)
        (line,) = svc.send_digests(T0)
        assert "PW_TEST_APPRISE_URL" in line and "not set" in line
        assert svc.store.undelivered_alert_ids("apprise:chat") == [1]  # kept for the next attempt
        monkeypatch.setenv("PW_TEST_APPRISE_URL", hook_url(http_server, "/secret-token-path"))
        (line,) = svc.send_digests(T0 + timedelta(hours=1))
        assert line.startswith("apprise:chat: sent 1 alerts")
    assert http_server.hits("/secret-token-path") == 1


def test_crash_between_send_and_record_is_not_repeated(tmp_path, http_server):
    """The sender is killed while the webhook holds its post: the delivery stays 'sending' and the
    next run does not post again (it shows the stuck delivery in status instead)."""
    toml = tmp_path / "config.toml"
    toml.write_text(f'[storage]\npath = "pw.db"\n[[digest.apprise]]\nname = "hook"\nurl = "{hook_url(http_server)}"\n')
    with Store.open(tmp_path / "pw.db") as store:
        seed_alerts(store, 2)
    procs: list[subprocess.Popen[str]] = []

    def kill_sender(req: Request) -> Response:
        os.kill(procs[0].pid, signal.SIGKILL)  # the post arrived; the sender dies before recording it
        return Response(200, b"ok")

    http_server.route("/hook", handler=kill_sender)
    cmd = [sys.executable, "-m", "monitor", "digest", "--config", str(toml)]
    procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    procs[0].communicate(timeout=120)
    assert procs[0].returncode == -signal.SIGKILL
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "apprise:hook: nothing new to send" in again.stdout
    assert http_server.hits("/hook") == 1
    with Store.open(tmp_path / "pw.db") as store:
        (stuck,) = store.stuck_deliveries("apprise:hook")
        assert stuck.alert_ids == (1, 2)
        (health,) = store.channel_health()
        assert health["stuck"] == 1 and health["waiting"] == 0


# -- immediate alerts, end to end through a cycle ---------------------------------------------

@pytest.fixture
def news_site():
    from tests.test_e2e import ARTICLE, STORIES

    stories = {**STORIES, "/news/siemens-grid.html": (
        "Siemens to invest in grid factories",
        ["Siemens said on Wednesday it would invest €2 billion in new factories for grid equipment by 2030."])}
    with LocalServer() as srv:
        base = srv.url("").rstrip("/")
        items = ""
        for path, (title, paras) in stories.items():
            html = ARTICLE.format(title=title, paras="".join(f"<p>{p}</p>" for p in paras))
            srv.route(path, html, headers={"Content-Type": "text/html; charset=utf-8"})
            items += (f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
                      f"<pubDate>Wed, 02 Jul 2025 09:00:00 GMT</pubDate><description>{paras[0]}</description></item>")
        srv.route("/feed.xml", f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                  f"<title>Example News</title><link>{base}/</link><description>News</description>{items}"
                  "</channel></rss>", headers={"Content-Type": "application/rss+xml; charset=utf-8"})
        srv.route("/hook", b"ok")
        yield srv


def test_immediate_channel_is_served_at_the_end_of_the_cycle_and_not_repeated(tmp_path, news_site):
    cfg = config_from_dict({
        "storage": {"path": str(tmp_path / "pw.db")},
        "fetch": {"allow_private_addresses": True, "timeout": 10.0},
        "alerts": {"min_investment_usd": 1e9},
        "digest": {"schedule": "0 8 * * *", "file": {"path": str(tmp_path / "digests")},
                   "apprise": [{"name": "chat", "url": hook_url(news_site), "immediate": True}]},
        "feeds": [{"url": news_site.url("/feed.xml")}],
    }, path=tmp_path / "config.toml")
    with Service(cfg) as svc:
        report = svc.run_cycle(T0)
        assert report.alerts_new == 2, report
        assert news_site.hits("/hook") == 1  # sent at the end of the cycle that raised them
        assert not (tmp_path / "digests").exists()  # the file channel waits for its digest
        kinds = sorted((a.kind, a.company) for a in svc.store.alerts())
        assert kinds == [("emission", "Microsoft"), ("investment", "Siemens")]
        invest = next(a for a in svc.store.alerts() if a.kind == "investment")
        assert (invest.value, invest.unit, invest.fx_date) == (2e9, "EUR", "2025-06-30")
        assert invest.amount_usd == pytest.approx(2e9 * 1.09)

        # a second cycle finds nothing new and sends nothing; the next digest skips the chat
        svc.run_cycle(T0 + timedelta(hours=1), ignore_schedule=True)
        lines = svc.send_digests(T0 + timedelta(days=1))
        assert lines[0].startswith("file: sent 2 alerts") and lines[1] == "apprise:chat: nothing new to send"
        (html,) = (tmp_path / "digests").glob("*.html")
        text = html.read_text(encoding="utf-8")
        assert "Large investments" in text and "€2bn (≈ $2.18bn at 2025-06-30 rates)" in text
    assert news_site.hits("/hook") == 1


def test_config_rejects_bad_apprise_tables(tmp_path):
    from monitor.errors import ConfigError

    for bad, needle in [([{"url": "json://a", "url_env": "X"}], "either url or url_env"),
                        ([{"name": "a b", "url": "json://a"}], "name"),
                        ([{"name": "x", "url": "json://a"}, {"name": "x", "url": "json://b"}], "used twice"),
                        ([{"url": "json://a", "token": "t"}], "unknown key")]:
        with pytest.raises(ConfigError, match=needle):
            make_config(tmp_path, bad)
    cfg = make_config(tmp_path, [{"url": "json://a"}, {"url_env": "HOOK", "immediate": True}])
    assert [(c.name, c.immediate) for c in cfg.digest.apprise] == [("apprise-1", False), ("apprise-2", True)]
    with Service(cfg) as svc:
        assert svc.channels() == ["apprise:apprise-1", "apprise:apprise-2"]
        assert [svc.is_immediate(c) for c in svc.channels()] == [False, True]
