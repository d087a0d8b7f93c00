"""Delivery of digests at the edge: SMTP, Apprise URLs and a folder of Markdown and HTML files.

Every smtplib, socket and file-system error is converted into ``DeliveryError`` naming the
server (host:port) or the path. Messages carry a Message-ID the caller derives from a stable
delivery key (``make_message_id``), so a resend after a crash can be recognised as the same
message by the receiver; file names come from the caller too, so a rewrite replaces, not adds.
Apprise URLs (chat, push, webhooks) get the digest's subject as title and its Markdown as body;
webhook schemes (json, form, xml) also carry the key as an ``Idempotency-Key`` header. An
Apprise URL may carry a token, so it can come from an environment variable named in the config,
and errors show it only in Apprise's privacy form.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from monitor.config import AppriseChannelConfig, SmtpConfig
from monitor.digest import render_markdown_fallback
from monitor.errors import DeliveryError
from monitor.types import Digest

log = logging.getLogger(__name__)


def make_message_id(key: str, domain: str = "pledgewatch.local") -> str:
    """A Message-ID that depends only on ``key``: '<digest.HEX@domain>' (sha256 of the key)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<digest.{digest}@{domain}>"


# -- SMTP ------------------------------------------------------------------------------------

def build_message(digest: Digest, cfg: SmtpConfig, *, message_id: str) -> EmailMessage:
    """The email for a digest: a text part and an HTML alternative, with the given Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = digest.subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg["Date"] = format_datetime(digest.created) if digest.created.tzinfo else format_datetime(
        digest.created.astimezone())
    msg["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    msg["Auto-Submitted"] = "auto-generated"
    if digest.alert_ids:
        msg["X-Pledgewatch-Alerts"] = ",".join(str(i) for i in digest.alert_ids)
    msg.set_content(digest.text)
    msg.add_alternative(digest.html, subtype="html")
    return msg


def send_smtp(digest: Digest, cfg: SmtpConfig, *, message_id: str) -> None:
    """Send a digest by SMTP (plain, STARTTLS or SSL per ``cfg``); raises DeliveryError.

    With ``cfg.username`` set, logs in with the password from the environment variable named by
    ``cfg.password_env`` (never from the config file).
    """
    where = f"{cfg.host}:{cfg.port}"
    if not cfg.host or not cfg.to:
        raise DeliveryError(f"SMTP {where}: [digest.smtp] host and to are required to send a digest")
    password = smtp_password(cfg)
    try:
        msg = build_message(digest, cfg, message_id=message_id)
    except (ValueError, TypeError) as e:  # a malformed address or header value in the config
        raise DeliveryError(f"SMTP {where}: cannot build the message: {e}") from e
    try:
        with _connect(cfg) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, password or "")
            refused = smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(cfg.to))
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"SMTP {where}: login refused for user {cfg.username!r}: "
                            f"{e.smtp_code} {_decode(e.smtp_error)}") from e
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"SMTP {where}: every recipient was refused: {', '.join(e.recipients)}") from e
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"SMTP {where}: server said {e.smtp_code} {_decode(e.smtp_error)}") from e
    except (smtplib.SMTPException, OSError) as e:  # OSError covers socket, timeout and TLS errors
        raise DeliveryError(f"SMTP {where}: {type(e).__name__}: {e}") from e
    if refused:
        # accepted for the others: raising would make a retry repeat it to them
        log.warning("SMTP %s: some recipients were refused: %s", where, ", ".join(refused))


def smtp_password(cfg: SmtpConfig) -> str | None:
    """The SMTP password from the environment variable ``cfg.password_env``; None without login."""
    if not cfg.username:
        return None
    if not cfg.password_env:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: username is set but [digest.smtp] password_env "
                            "names no environment variable holding the password")
    password = os.environ.get(cfg.password_env)
    if password is None:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: environment variable {cfg.password_env} "
                            "(from [digest.smtp] password_env) is not set")
    return password


def _connect(cfg: SmtpConfig) -> smtplib.SMTP:
    if cfg.ssl:
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context())
    return smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- Apprise ---------------------------------------------------------------------------------

WEBHOOK_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")


def apprise_url(channel: AppriseChannelConfig) -> str:
    """The channel's Apprise URL: from the config, or from the environment variable it names."""
    if channel.url:
        return channel.url
    url = os.environ.get(channel.url_env, "").strip()
    if not url:
        raise DeliveryError(f"Apprise channel {channel.name}: environment variable {channel.url_env} "
                            "(from [[digest.apprise]] url_env) is not set")
    return url


def with_idempotency_key(url: str, key: str) -> str:
    """``url`` with an ``Idempotency-Key`` header parameter when it is a webhook (json/form/xml) URL."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in WEBHOOK_SCHEMES:
        return url
    sep = "&" if "?" in url.split("#", 1)[0] else "?"
    return f"{url}{sep}+Idempotency-Key={quote(key, safe='')}"


def send_apprise(digest: Digest, channel: AppriseChannelConfig, *, key: str) -> None:
    """Send a digest through one Apprise URL; raises DeliveryError naming the channel (URL redacted)."""
    import apprise

    url = with_idempotency_key(apprise_url(channel), key)
    ap = apprise.Apprise()
    if not ap.add(url) or len(ap) != 1:
        raise DeliveryError(f"Apprise channel {channel.name}: not a usable Apprise URL "
                            f"(scheme {url.split('://', 1)[0]!r}; see https://github.com/caronc/apprise/wiki)")
    where = f"Apprise channel {channel.name} ({ap[0].url(privacy=True).split('?', 1)[0]})"
    body = getattr(digest, "markdown", "") or digest.text
    try:
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = ap.notify(body=body, title=digest.subject, body_format=apprise.NotifyFormat.MARKDOWN)
            detail = captured.getvalue().strip().splitlines()
    except Exception as e:  # noqa: BLE001 - a plugin's own error, converted here
        raise DeliveryError(f"{where}: {type(e).__name__}: {e}") from e
    if not ok:
        last = detail[-1].split(" - ", 2)[-1] if detail else "the service did not accept the message"
        raise DeliveryError(f"{where}: {last}")


# -- files -----------------------------------------------------------------------------------

def write_digest_file(digest: Digest, folder: Path, *, name: str) -> list[Path]:
    """Write NAME.md and NAME.html into ``folder`` (created if needed), each atomically.

    The Markdown is the digest's own (``render_digest`` returns it) or, for a plain Digest, its
    text part in a code block. Returns the two paths; raises DeliveryError naming the path.
    """
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        raise DeliveryError(f"digest file name {name!r} is not a plain file name")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DeliveryError(f"cannot create digest folder {folder}: {e}") from e
    markdown = getattr(digest, "markdown", "") or render_markdown_fallback(digest)
    paths = [folder / f"{name}.md", folder / f"{name}.html"]
    for path, content in zip(paths, (markdown, digest.html), strict=True):
        write_atomic(path, content)
    return paths


def write_atomic(path: Path, content: str) -> None:
    """Write text to ``path`` through a temporary file in the same folder and os.replace."""
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False) as fh:
            tmp_name = fh.name
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as e:
        raise DeliveryError(f"cannot write digest file {path}: {e}") from e
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


__all__ = ["apprise_url", "build_message", "make_message_id", "send_apprise", "send_smtp", "smtp_password",
           "with_idempotency_key", "write_atomic", "write_digest_file"]
