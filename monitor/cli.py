"""The ``pledgewatch`` command line: parse arguments, call the service, print.

Every command takes ``--config FILE`` (default: $PLEDGEWATCH_CONFIG, else built-in defaults)
and ``--db PATH`` (overrides ``[storage] path``). Errors print one line and exit non-zero:
2 for a bad configuration or usage, 1 for anything else.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from monitor import __version__
from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """Add --config and --db to a command, load the config and pass it as ``cfg``."""

    @click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                  help="Config file (default: $PLEDGEWATCH_CONFIG, else built-in defaults).")
    @click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
                  help="SQLite file; overrides [storage] path.")
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, db_path: str | None, **kwargs: Any) -> Any:
        with _errors():
            cfg = load_config(config_path, db=db_path)
            _setup_logging(cfg)
            return func(*args, cfg=cfg, **kwargs)

    return wrapper  # type: ignore[return-value]


class _errors:
    """Turn our exceptions into one clear line and an exit status."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> Literal[False]:
        if exc is None or isinstance(exc, click.exceptions.Exit | click.ClickException | SystemExit):
            return False
        if isinstance(exc, ConfigError):
            click.echo(f"pledgewatch: config error: {exc}", err=True)
            sys.exit(2)
        if isinstance(exc, MonitorError):
            click.echo(f"pledgewatch: error: {exc}", err=True)
            sys.exit(1)
        if isinstance(exc, KeyboardInterrupt):
            click.echo("pledgewatch: interrupted", err=True)
            sys.exit(130)
        if isinstance(exc, OSError):
            click.echo(f"pledgewatch: error: {exc}", err=True)
            sys.exit(1)
        return False


def _setup_logging(cfg: Config) -> None:
    from monitor.logs import setup_logging

    setup_logging(cfg.log.level, cfg.log.format)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pledgewatch")
def cli() -> None:
    """Pledgewatch: find companies whose reported emissions rise, with the evidence."""


@cli.command()
@common_options
def init(cfg: Config) -> None:
    """Create (or migrate) the database and register the configured feeds."""
    from monitor.service import Service, utcnow

    with Service(cfg) as svc:
        svc.store.sync_feeds(cfg.feeds, utcnow())
        click.echo(f"database {cfg.storage.path} ready (schema version {svc.store.schema_version()}), "
                   f"{len(cfg.feeds)} feeds configured")


@cli.command()
@click.option("--once", is_flag=True, help="Run one full cycle and exit.")
@click.option("--ignore-schedule", is_flag=True,
              help="Poll every feed and retry failed articles now (except 410 Gone and Retry-After).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus metrics on 127.0.0.1:PORT (overrides [metrics] port; 0 = off).")
@common_options
def run(cfg: Config, once: bool, ignore_schedule: bool, metrics_port: int | None) -> None:
    """Run the daemon (or, with --once, one cycle)."""
    if once:
        from monitor.daemon import run_once

        report = run_once(cfg, ignore_schedule=ignore_schedule)
        click.echo(report.summary())
        for line in report.errors:
            click.echo(f"  {line}", err=True)
        return
    from monitor.daemon import run_daemon

    port = cfg.metrics.port if metrics_port is None else metrics_port
    run_daemon(cfg, ignore_schedule=ignore_schedule, metrics_port=port or None)


@cli.command()
@click.argument("input_path", metavar="IN.jsonl", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output JSONL (default: standard output).")
@common_options
def extract(cfg: Config, input_path: str, output_path: str) -> None:
    """Extract facts from passages: JSONL lines {id, title, published, text} -> {id, facts}."""
    from monitor.extract import Extractor, extract_records

    extractor = Extractor.load(cfg.extract.model, cfg.extract.models_dir)
    with click.open_file(input_path, "r", encoding="utf-8") as fin:
        records = list(_read_jsonl(fin, input_path))
    with click.open_file(output_path, "w", encoding="utf-8", atomic=output_path != "-") as fout:
        for out in extract_records(records, extractor):
            fout.write(json.dumps(out, ensure_ascii=False) + "\n")


def _read_jsonl(lines: Iterable[str], name: str) -> Iterable[dict[str, Any]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise click.ClickException(f"{name}:{n}: not JSON: {e}") from None
        if not isinstance(obj, dict) or "text" not in obj:
            raise click.ClickException(f"{name}:{n}: expected an object with a 'text' field")
        yield obj


@cli.command()
@click.option("--preview", is_flag=True, help="Print the digest instead of sending it.")
@click.option("--since", type=click.DateTime(), default=None, help="Only alerts first seen since then.")
@click.option("--html", "as_html", is_flag=True, help="With --preview: print the HTML part.")
@common_options
def digest(cfg: Config, preview: bool, since: datetime | None, as_html: bool) -> None:
    """Send (or with --preview print) a digest of the alerts not yet sent."""
    from monitor.service import Service

    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    with Service(cfg) as svc:
        if preview:
            d = svc.preview_digest(since=since_utc)
            click.echo(d.html if as_html else f"Subject: {d.subject}\n\n{d.text}")
            return
        for line in svc.send_digests(since=since_utc):
            click.echo(line)


@cli.group()
def query() -> None:
    """Query the store: alerts, facts."""


FORMATS = click.Choice(["table", "json", "csv", "markdown"])


@query.command("alerts")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--since", type=click.DateTime(), default=None)
@common_options
def query_alerts(cfg: Config, fmt: str, since: datetime | None) -> None:
    """Alerts: reported emission increases, with their sources."""
    from monitor.service import Service

    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    with Service(cfg) as svc:
        rows = [alert_record(a) for a in svc.store.alerts(since=since_utc)]
    _emit(rows, fmt, ["company", "metric", "direction", "value", "unit", "year", "base_year", "status",
                      "severity", "outlets", "sources"])


def alert_record(alert: Any) -> dict[str, Any]:
    """An alert as a JSON-ready object (the contract of `query alerts --format json`)."""
    return {
        "id": alert.id, "company": alert.company, "metric": alert.metric, "direction": alert.direction,
        "value": alert.value, "unit": alert.unit, "status": alert.status, "year": alert.year,
        "base_year": alert.base_year, "severity": alert.severity,
        "outlets": len({s.url for s in alert.sources}),
        "independent_reports": alert.independent_reports,  # distinct stories (story clusters)
        "sources": [s.url for s in alert.sources if s.url],
        "evidence": alert.sources[0].sentence if alert.sources else None,
        "pledges": list(alert.pledges), "contradiction": alert.contradiction,
        "first_seen": alert.first_seen.isoformat() if alert.first_seen else None,
        # 'emission', or 'investment' (value/unit = amount/currency, in USD at the FX table's date)
        "kind": alert.kind, "amount_usd": alert.amount_usd, "fx_date": alert.fx_date, "purpose": alert.purpose,
    }


@query.command("facts")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--company", default=None)
@click.option("--type", "fact_type", type=click.Choice(["emission_change", "investment", "target"]), default=None)
@click.option("--status", default=None)
@click.option("--metric", default=None)
@click.option("--since", type=click.DateTime(), default=None, help="Articles published since.")
@click.option("--until", type=click.DateTime(), default=None)
@click.option("--limit", type=click.IntRange(0), default=100, show_default=True, help="At most this many (0 = all).")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many first (the next page).")
@common_options
def query_facts(cfg: Config, fmt: str, company: str | None, fact_type: str | None, status: str | None,
                metric: str | None, since: datetime | None, until: datetime | None, limit: int,
                offset: int) -> None:
    """Facts found in articles, newest first (a page of --limit; --offset for the next)."""
    from monitor.cli_query import emit_facts, facts_page

    rows = facts_page(cfg, company=company, type=fact_type, status=status, metric=metric, since=since,
                      until=until, limit=limit, offset=offset)
    emit_facts(rows, fmt)


def _emit(rows: Sequence[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str))
    elif fmt == "csv":
        buf = io.StringIO()
        all_cols = list(dict.fromkeys(k for r in rows for k in r)) or columns
        w = csv.DictWriter(buf, fieldnames=all_cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
        click.echo(buf.getvalue(), nl=False)
    elif fmt == "markdown":
        from monitor.cli_query import format_markdown

        click.echo(format_markdown(rows, columns))
    else:
        click.echo(format_table(rows, columns))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: list[str], width: int | None = None) -> str:
    """An aligned text table that fits the terminal: wide columns are cut with '…'."""
    if not rows:
        return "(no rows)"
    width = width or shutil.get_terminal_size((120, 24)).columns
    cols = [c for c in columns if any(r.get(c) not in (None, "", [], ()) for r in rows)] or columns
    cells = [[_cell(r.get(c)).replace("\n", " ") for c in cols] for r in rows]
    from monitor.cli_query import fit_widths, hidden_note

    widths = fit_widths([max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)], width)
    hidden = cols[len(widths):]
    cols, cells = cols[:len(widths)], [row[:len(widths)] for row in cells]

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: w - 1] + "…"

    lines = ["  ".join(fit(c, w).ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines + hidden_note(hidden, width))


@cli.command()
@common_options
def status(cfg: Config) -> None:
    """Feeds' health, queue depth, facts, alerts and deliveries."""
    from monitor.daemon import daemon_pid, describe_last_cycle, last_cycle
    from monitor.service import Service, utcnow

    with Service(cfg) as svc:
        st = svc.store.status()
        feeds = svc.store.feed_rows()
        stored = svc.store.stored_entry_counts()
        pid = daemon_pid(cfg.storage.path)
        click.echo(f"database: {cfg.storage.path}")
        click.echo("daemon: " + (f"running (pid {pid})" if pid else "not running"))
        click.echo(f"last cycle: {describe_last_cycle(last_cycle(svc.store))}")
        nxt = svc.next_digest_at(utcnow())
        click.echo(f"next digest: {nxt.isoformat() if nxt else '-'}  channels: {', '.join(svc.channels()) or 'none'}")
        for key, value in st.items():
            click.echo(f"{key}: {value}")
        channels = [{**h, "next_try": _short_time(h["next_try"]), "last_sent": _short_time(h["last_sent"]),
                     "immediate": "yes" if svc.is_immediate(h["channel"]) else ""}
                    for h in svc.store.channel_health(svc.channels())]
    rows = [{"feed": f.name or f.url,
             "state": "gone" if f.gone else "inactive" if not f.active else "failing" if f.error_count else "ok",
             "last_check": _short_time(f.last_checked),
             "next_check": "never (410 Gone)" if f.gone else _short_time(f.next_check),
             "errors": f.error_count, "entries": f.entry_count, "stored": stored.get(f.url, 0),
             "last_error": f.last_error} for f in feeds]
    click.echo()
    click.echo(format_table(rows, ["feed", "state", "last_check", "next_check", "errors", "entries", "stored",
                                   "last_error"]))
    if channels:  # deliveries per channel: alerts sent, waiting, failed (retry time, last error), stuck
        click.echo()
        click.echo(format_table(channels, ["channel", "immediate", "sent", "waiting", "failed", "attempts", "next_try",
                                           "stuck", "last_sent", "last_error"]))


def _short_time(value: Any) -> str:
    if not value:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16]


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Keep the demo's database at this path (default: a temporary file).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Ignored except for [extract] settings; the demo runs on its own feeds.")
def demo(db_path: str | None, config_path: str | None) -> None:
    """The whole product offline: local feeds and pages -> one cycle -> the digest."""
    with _errors():
        base = load_config(config_path) if config_path else load_config(None)
        _setup_logging(replace(base, log=replace(base.log, level="WARNING")))
        run_demo(base, Path(db_path) if db_path else None)


def run_demo(base: Config, db_path: Path | None) -> None:
    """Serve the bundled demo feeds on loopback, run one cycle, print the digest."""
    from monitor.config import FeedConfig, FetchConfig, StorageConfig
    from monitor.demo import DemoServer
    from monitor.service import Service

    with tempfile.TemporaryDirectory(prefix="pledgewatch-demo-") as tmp, DemoServer() as server:
        path = db_path or Path(tmp) / "demo.db"
        if db_path and db_path.exists():
            raise MonitorError(f"{db_path} exists already; the demo wants a new database")
        cfg = replace(
            base,
            storage=StorageConfig(path=path),
            fetch=replace(FetchConfig(), allow_private_addresses=True, timeout=10.0),
            feeds=tuple(FeedConfig(url=u, name=f"demo {i + 1}") for i, u in enumerate(server.feed_urls())),
        )
        click.echo(f"Serving {len(cfg.feeds)} demo feeds at {server.url('/')} ...", err=True)
        with Service(cfg) as svc:
            report = svc.run_cycle(send_digests=False)
            click.echo(f"One cycle: {report.summary()}", err=True)
            for line in report.errors:
                click.echo(f"  {line}", err=True)
            d = svc.preview_digest()
        click.echo()
        click.echo(f"Subject: {d.subject}\n")
        click.echo(d.text)
        if db_path:
            click.echo(f"\nThe demo database stays at {path}: try "
                       f"`pledgewatch query alerts --db {path}`", err=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pledgewatch", standalone_mode=True)
    except BrokenPipeError:  # `pledgewatch query ... | head`
        sys.stderr.close()
        sys.exit(0)


import monitor.cli_feeds  # noqa: E402,F401 - registers the `feeds` group
from monitor import cli_query  # noqa: E402,F401
