"""End to end through the real command line: a loopback HTTP server serves a feed and article
pages -> `pledgewatch run --once` -> facts and alerts in the SQLite file -> `pledgewatch digest`
-> an aiosmtpd server on loopback receives exactly one email naming the alert."""

from __future__ import annotations

import email
import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.server import LocalServer

ARTICLE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a> <a href="/energy">Energy</a></nav>
<article><h1>{title}</h1><p class="byline">By a staff reporter, 2 July 2025</p>
{paras}
</article><footer>Copyright Example News. All rights reserved.</footer></body></html>"""

STORIES = {
    "/news/microsoft-emissions.html": (
        "Microsoft's emissions climb as AI data centres expand",
        ["Microsoft said on Tuesday that its greenhouse gas emissions rose 23% in 2024 compared with "
         "2023, as the company raced to build data centres for artificial intelligence.",
         "The software maker has pledged to become carbon negative by 2030, a goal its executives "
         "acknowledged had become harder to reach as electricity demand from new server farms grows.",
         "The company said it would keep buying renewable power and carbon removal credits, and that "
         "it expected its supply chain to account for most of its footprint for years to come."]),
    "/news/unilever-cuts.html": (
        "Unilever trims its footprint",
        ["Unilever said its scope 1 and 2 emissions fell 8% in 2024 from a year earlier, helped by "
         "renewable electricity at its factories.",
         "The consumer goods group reiterated its aim to reach net-zero emissions across its value "
         "chain by 2039."]),
}


def feed_xml(base: str) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
        f"<pubDate>Wed, 02 Jul 2025 09:00:00 GMT</pubDate><description>{paras[0]}</description></item>"
        for path, (title, paras) in STORIES.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Example News</title>'
            f"<link>{base}/</link><description>Climate business news</description>{items}</channel></rss>")


class Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pledgewatch(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"pledgewatch {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.fixture
def news_site():
    with LocalServer() as srv:
        for path, (title, paras) in STORIES.items():
            html = ARTICLE.format(title=title, paras="".join(f"<p>{p}</p>" for p in paras))
            srv.route(path, html, headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/feed.xml", feed_xml(srv.url("").rstrip("/")),
                  headers={"Content-Type": "application/rss+xml; charset=utf-8"})
        yield srv


@pytest.fixture
def smtp_server():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


def write_config(tmp_path: Path, feed_url: str, smtp_port: int) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(textwrap.dedent(f"""
        [storage]
        path = "pw.db"
        [fetch]
        allow_private_addresses = true
        timeout = 10.0
        [digest.smtp]
        host = "127.0.0.1"
        port = {smtp_port}
        from = "pledgewatch@example.org"
        to = ["analyst@example.org"]
        [[feeds]]
        url = "{feed_url}"
        name = "Example News"
    """))
    return cfg


def test_feed_to_email(tmp_path, news_site, smtp_server):
    controller, collector = smtp_server
    cfg = write_config(tmp_path, news_site.url("/feed.xml"), controller.port)

    out = pledgewatch("run", "--once", "--config", str(cfg))
    assert "polled 1 feeds (0 failed)" in out.stdout
    db = sqlite3.connect(tmp_path / "pw.db")
    facts = db.execute("select type, company, direction, value, status from facts").fetchall()
    assert ("emission_change", "Microsoft", "increase", 23, "reported") in facts
    assert ("emission_change", "Unilever", "decrease", 8, "reported") in facts
    assert any(f[0] == "target" and f[1] == "Microsoft" for f in facts)
    alerts = json.loads(pledgewatch("query", "alerts", "--config", str(cfg), "--format", "json").stdout)
    assert [(a["company"], a["direction"], a["value"], a["status"]) for a in alerts] == [
        ("Microsoft", "increase", 23, "reported")]
    assert alerts[0]["sources"] == [news_site.url("/news/microsoft-emissions.html")]
    assert alerts[0]["year"] == 2024

    pledgewatch("digest", "--config", str(cfg))
    assert len(collector.messages) == 1
    msg = collector.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "Microsoft" in part
        assert "23%" in part
        assert news_site.url("/news/microsoft-emissions.html") in part

    # Nothing new: a second digest sends nothing, and a second cycle adds no duplicate alert.
    pledgewatch("digest", "--config", str(cfg))
    pledgewatch("run", "--once", "--ignore-schedule", "--config", str(cfg))
    assert len(collector.messages) == 1
    assert db.execute("select count(*) from alerts").fetchone()[0] == 1


def test_run_once_without_network_records_errors(tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}/feed.xml", f"http://127.0.0.1:{free_port()}/rss"]
    cfg = tmp_path / "config.toml"
    cfg.write_text('[storage]\npath = "pw.db"\n' + "".join(f'[[feeds]]\nurl = "{u}"\n' for u in dead))
    out = pledgewatch("run", "--once", "--config", str(cfg))
    assert "polled 2 feeds (2 failed)" in out.stdout
    rows = sqlite3.connect(tmp_path / "pw.db").execute("select url, last_error, error_count from feeds").fetchall()
    assert {r[0] for r in rows} == set(dead)
    assert all(r[1] and r[2] == 1 for r in rows)


@pytest.mark.parametrize("content,needle", [
    ("[storage]\npaht = 'x.db'\n", "[storage] paht"),
    ("[fetch]\ntimeout = 'slow'\n", "[fetch] timeout"),
    ("[[feeds]]\nname = 'no url'\n", "url is required"),
])
def test_bad_config_is_one_line_and_exit_2(tmp_path, content, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    proc = pledgewatch("status", "--config", str(cfg), check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cfg) in lines[0] and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_config_file(tmp_path):
    proc = pledgewatch("run", "--once", "--config", str(tmp_path / "nope.toml"), check=False)
    assert proc.returncode == 2
    assert "nope.toml" in proc.stderr and "not found" in proc.stderr
