"""Delivery against real servers on loopback: aiosmtpd (plain, AUTH, STARTTLS, SSL) and files."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import SmtpConfig
from monitor.digest import render_digest
from monitor.errors import DeliveryError
from monitor.notify import make_message_id, send_smtp, write_digest_file
from monitor.types import Alert, Digest, Source

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

NOW = datetime(2025, 7, 3, 8, 0, tzinfo=UTC)
URL = "https://news.example.com/acme-emissions"


class Collector:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


class Authenticator:
    """Accepts one user and password; records the attempts."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.attempts: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.attempts.append((auth_data.login, auth_data.password))
        ok = auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def auth_smtp():
    collector = Collector()
    auth = Authenticator("digest-bot", "s3cret pass")
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), authenticator=auth,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        yield controller, collector, auth
    finally:
        controller.stop()


@pytest.fixture
def tls_cert(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def make_digest() -> Digest:
    src = Source(url=URL, title="Acme's emissions rise", feed="Example News",
                 published=datetime(2025, 7, 2, tzinfo=UTC), sentence="Acme said its emissions rose 23% in 2024.")
    alert = Alert(key="acme|ghg|increase|2024|23", company="Acme", metric="ghg", direction="increase", value=23,
                  unit="%", status="reported", year=2024, base_year=2023, sources=(src,), first_seen=NOW,
                  severity="high", pledges=("net-zero by 2040",), id=7)
    return render_digest([alert], now=NOW)


def config(port: int, **kw) -> SmtpConfig:
    base = dict(host="127.0.0.1", port=port, sender="pledgewatch@example.org",
                to=("analyst@example.org", "desk@example.org"), timeout=10.0)
    base.update(kw)
    return SmtpConfig(**base)


def test_message_id_is_stable_and_key_dependent():
    a = make_message_id("smtp:2025-07-03T08:00:00+00:00:1,2")
    assert a == make_message_id("smtp:2025-07-03T08:00:00+00:00:1,2")
    assert a != make_message_id("smtp:2025-07-03T08:00:00+00:00:1,3")
    assert a.startswith("<") and a.endswith("@pledgewatch.local>")
    assert make_message_id("k", domain="example.org").endswith("@example.org>")


def test_one_message_with_text_and_html_parts(smtp):
    controller, collector = smtp
    digest = make_digest()
    mid = make_message_id("smtp:test-1")
    send_smtp(digest, config(controller.port), message_id=mid)

    assert len(collector.envelopes) == 1
    env = collector.envelopes[0]
    assert env.mail_from == "pledgewatch@example.org"
    assert env.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    msg = collector.messages()[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] == mid
    assert msg["Subject"] == "Pledgewatch: 1 emission increase at 1 company"
    assert msg["From"] == "pledgewatch@example.org"
    assert msg["To"] == "analyst@example.org, desk@example.org"
    assert msg["Date"].datetime == NOW
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Greenhouse gas emissions up 23% in 2024 vs 2023" in text and URL in text
    assert f'href="{URL}"' in html and "Pledge:" in html
    assert "<" not in text.replace("<" + URL, "")  # no markup in the text part


def test_login_with_password_from_environment(auth_smtp, monkeypatch):
    controller, collector, auth = auth_smtp
    monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", "s3cret pass")
    cfg = config(controller.port, username="digest-bot", password_env="PW_TEST_SMTP_PASSWORD")
    send_smtp(make_digest(), cfg, message_id=make_message_id("auth"))
    assert auth.attempts == [(b"digest-bot", b"s3cret pass")]
    assert len(collector.envelopes) == 1


def test_wrong_password_is_a_delivery_error(auth_smtp, monkeypatch):
    controller, collector, _ = auth_smtp
    monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", "wrong")
    cfg = config(controller.port, username="digest-bot", password_env="PW_TEST_SMTP_PASSWORD")
    with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{controller.port}.*login refused"):
        send_smtp(make_digest(), cfg, message_id=make_message_id("auth"))
    assert collector.envelopes == []


def test_missing_password_variable_is_named(auth_smtp, monkeypatch):
    controller, collector, auth = auth_smtp
    monkeypatch.delenv("PW_TEST_SMTP_PASSWORD", raising=False)
    cfg = config(controller.port, username="digest-bot", password_env="PW_TEST_SMTP_PASSWORD")
    with pytest.raises(DeliveryError, match="PW_TEST_SMTP_PASSWORD"):
        send_smtp(make_digest(), cfg, message_id=make_message_id("auth"))
    assert auth.attempts == [] and collector.envelopes == []
    with pytest.raises(DeliveryError, match="password_env"):
        send_smtp(make_digest(), config(controller.port, username="digest-bot"), message_id="<x@y>")


def test_server_down_is_a_delivery_error_naming_host_and_port():
    port = free_port()  # nothing listens there any more
    with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{port}"):
        send_smtp(make_digest(), config(port, timeout=5.0), message_id=make_message_id("down"))


def test_starttls_verifies_the_server_certificate(tls_cert, monkeypatch):
    cert, key = tls_cert
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                            tls_context=server_context(cert, key), require_starttls=True)
    controller.start()
    try:
        cfg = config(controller.port, starttls=True)
        # an untrusted (self-signed) certificate is refused ...
        monkeypatch.setenv("SSL_CERT_FILE", str(Path(__file__)))  # a file with no CA in it
        with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{controller.port}"):
            send_smtp(make_digest(), cfg, message_id=make_message_id("tls"))
        assert collector.envelopes == []
        # ... and once trusted, the digest goes through the upgraded connection
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        send_smtp(make_digest(), cfg, message_id=make_message_id("tls"))
        assert len(collector.envelopes) == 1
    finally:
        controller.stop()


def test_implicit_ssl(tls_cert, monkeypatch):
    cert, key = tls_cert
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(cert, key))
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        send_smtp(make_digest(), config(controller.port, ssl=True), message_id=make_message_id("ssl"))
        assert len(collector.envelopes) == 1
        assert collector.messages()[0]["Message-ID"] == make_message_id("ssl")
    finally:
        controller.stop()


def test_file_channel_writes_markdown_and_html(tmp_path):
    folder = tmp_path / "digests" / "nested"
    digest = make_digest()
    paths = write_digest_file(digest, folder, name="digest-20250703T080000Z")
    assert paths == [folder / "digest-20250703T080000Z.md", folder / "digest-20250703T080000Z.html"]
    md = paths[0].read_text(encoding="utf-8")
    html = paths[1].read_text(encoding="utf-8")
    assert md.startswith("# Pledgewatch digest")
    assert "## Acme" in md and f"(<{URL}>)" in md and "23%" in md
    assert html == digest.html
    assert sorted(p.name for p in folder.iterdir()) == ["digest-20250703T080000Z.html", "digest-20250703T080000Z.md"]
    # rewriting replaces in place, leaving no temporary files behind
    write_digest_file(render_digest([], now=NOW), folder, name="digest-20250703T080000Z")
    assert "No new alerts" in paths[0].read_text(encoding="utf-8")
    assert len(list(folder.iterdir())) == 2


def test_file_channel_plain_digest_and_errors(tmp_path):
    plain = Digest(subject="S", text="line ``` with backticks\n", html="<p>x</p>", alert_ids=(), created=NOW)
    md_path, _ = write_digest_file(plain, tmp_path, name="plain")
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# S\n") and "````text\nline ``` with backticks\n````" in md
    with pytest.raises(DeliveryError, match="file name"):
        write_digest_file(plain, tmp_path, name="../escape")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(DeliveryError, match="not-a-folder"):
        write_digest_file(plain, blocker, name="d")


# -- through the outbox (Service): SMTP down, back-off, next attempt delivers ----------------

def test_smtp_down_loses_nothing_and_the_next_attempt_delivers(tmp_path):
    from datetime import timedelta

    from monitor.config import config_from_dict
    from monitor.service import Service
    from tests.test_apprise import T0, seed_alerts

    port = free_port()  # nothing listens here yet
    cfg = config_from_dict({"storage": {"path": str(tmp_path / "pw.db")},
                            "digest": {"smtp": {"host": "127.0.0.1", "port": port, "from": "pw@example.org",
                                                "to": ["analyst@example.org"], "timeout": 5.0}}})
    with Service(cfg) as svc:
        ids = seed_alerts(svc.store, 3)
        (line,) = svc.send_digests(T0)
        assert line.startswith(f"smtp: failed: SMTP 127.0.0.1:{port}: ")
        assert svc.store.undelivered_alert_ids("smtp") == ids  # nothing lost
        (health,) = svc.store.channel_health(["smtp"])
        assert (health["failed"], health["attempts"], health["next_try"]) == (3, 1, T0 + timedelta(minutes=15))
        assert f"127.0.0.1:{port}" in health["last_error"]

        collector = Collector()
        controller = Controller(collector, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            assert svc.send_immediate_and_retries(T0 + timedelta(minutes=10)) == []  # backing off
            (line,) = svc.send_immediate_and_retries(T0 + timedelta(minutes=15))
            assert line == "smtp: sent 3 alerts (Pledgewatch: 3 emission increases at 3 companies)"
            assert svc.send_digests(T0 + timedelta(days=1)) == ["smtp: nothing new to send"]
        finally:
            controller.stop()
        (health,) = svc.store.channel_health(["smtp"])
        assert (health["sent"], health["failed"], health["last_error"]) == (3, 0, None)
        (failed, sent) = sorted(svc.store.deliveries("smtp"), key=lambda d: d.id)
        assert failed.message_id != sent.message_id  # a new message, not a resend of a half-sent one
    (msg,) = collector.messages()
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == sent.message_id
    assert "Company2" in msg.get_body(preferencelist=("plain",)).get_content()
    assert "Company2" in msg.get_body(preferencelist=("html",)).get_content()
