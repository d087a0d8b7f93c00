"""Query commands over the store, and ``reprocess`` (issue 6).

Registered on the groups of ``monitor.cli`` when this module is imported (the last line of
``cli.py``): ``query companies``, ``query timeline COMPANY [--chart FILE]``, ``query search
TEXT``, ``query sql "SELECT ..."`` and ``pledgewatch reprocess [--since DATE] [--dry-run]``.
Every query command prints table (aligned, fits the terminal), json, csv or markdown; ``cli._emit``
uses the Markdown renderer here for every query command.

Query commands open the database read-only (``Store.open_readonly``): they never migrate or
write, and work while the daemon writes (WAL).
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor import cli as cli_module
from monitor.cli import common_options, query
from monitor.config import Config
from monitor.errors import MonitorError, StorageError
from monitor.store import Store

FORMAT_NAMES = ("table", "json", "csv", "markdown")
FORMATS = click.Choice(FORMAT_NAMES)
_HIT = re.compile(r"\[([^\[\]]*)\]")  # the store's snippet marks matches as [word]


# -- output ----------------------------------------------------------------------------------

def format_markdown(rows: Sequence[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub-flavoured Markdown table of ``columns`` (empty columns dropped, pipes escaped)."""
    if not rows:
        return "_(no rows)_"
    cols = [c for c in columns if any(r.get(c) not in (None, "", [], ()) for r in rows)] or columns
    lines = ["| " + " | ".join(_md_cell(c) for c in cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_md_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def _md_cell(value: Any) -> str:
    text = _text(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


MIN_COLUMN_WIDTH = 5  # a column is cut no narrower than this ("incr…", "2023")
COLUMN_GAP = 2


def fit_widths(natural: Sequence[int], width: int, floor: int = MIN_COLUMN_WIDTH) -> list[int]:
    """Column widths (leftmost columns first) whose aligned table fits in ``width`` characters.

    The widest column is cut first, one character at a time, down to ``floor`` (narrower
    columns keep their width); when even that does not fit, columns are left out from the
    right, so the result may be shorter than ``natural`` (at least one column is kept).
    """
    widths = list(natural)

    def total(ws: Sequence[int]) -> int:
        return sum(ws) + COLUMN_GAP * (len(ws) - 1)

    while len(widths) > 1 and total([min(w, floor) for w in widths]) > width:
        widths.pop()
    while total(widths) > width and max(widths) > floor:
        widths[widths.index(max(widths))] -= 1
    if total(widths) > width:  # one column, narrower than the floor
        widths = [max(1, width)]
    return widths


def hidden_note(hidden: Sequence[str], width: int) -> list[str]:
    """The line under a table naming the columns that did not fit (none when all fit)."""
    if not hidden:
        return []
    note = f"(not shown: {', '.join(hidden)}; widen the terminal or use --format csv/json)"
    return [note if len(note) <= width else note[: max(1, width - 1)] + "…"]


def emit(rows: Sequence[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    """Print rows as table, json, csv or markdown (``cli._emit``)."""
    cli_module._emit(rows, fmt, columns)


def _open(cfg: Config) -> Store:
    return Store.open_readonly(cfg.storage.path)


# -- query facts (the command is in cli.py) --------------------------------------------------

def facts_page(cfg: Config, *, limit: int, offset: int, **filters: Any) -> list[dict[str, Any]]:
    """One page of ``query facts`` from the store opened read-only; ``limit`` 0 means all.

    When the page is full, a line on stderr says how to get the rest.
    """
    with _open(cfg) as store:
        rows = store.facts(limit=limit or None, offset=offset, **filters)
    if limit and len(rows) == limit:
        click.echo(f"(facts {offset + 1}-{offset + limit}, newest first; --offset {offset + limit} for the next "
                   "page, --limit 0 for all)", err=True)
    return rows


FACT_COLUMNS = ["type", "company", "metric", "direction", "value", "unit", "base_year", "year", "amount", "currency",
                "purpose", "by_year", "goal", "status", "confidence", "evidence", "evidence_start", "evidence_end",
                "extractor_version", "published", "title", "url", "article_id", "id"]


def emit_facts(rows: Sequence[dict[str, Any]], fmt: str) -> None:
    """Print fact rows: json and csv with every column; table and markdown one line per fact
    (published date, type, company, the fact in a few words, link, evidence sentence)."""
    if fmt in ("json", "csv"):
        emit(rows, fmt, FACT_COLUMNS)
        return
    lines = [{"published": (r.get("published") or "")[:10], "type": r["type"], "company": r["company"],
              "fact": fact_summary(r), "url": r.get("url"), "evidence": r.get("evidence")} for r in rows]
    emit(lines, fmt, ["published", "type", "company", "fact", "url", "evidence"])


# -- query companies -------------------------------------------------------------------------

@query.command("companies")
@click.option("--format", "fmt", type=FORMATS, default="table")
@common_options
def query_companies(cfg: Config, fmt: str) -> None:
    """Companies seen in facts, with how many emission changes, investments and pledges."""
    with _open(cfg) as store:
        rows = store.companies()
    for r in rows:
        for k in ("emission_changes", "investments", "targets"):
            r[k] = int(r[k] or 0)
    emit(rows, fmt, ["name", "emission_changes", "investments", "targets", "first_seen"])


# -- query timeline --------------------------------------------------------------------------

def fact_year(row: dict[str, Any]) -> int | None:
    """The year a fact belongs to on a timeline.

    Emission changes: the year they describe (else the base year); investments and pledges: the
    year they were announced (the article's publication year), since their own year is a
    deadline ("by 2030"), shown in the text.
    """
    if row["type"] == "emission_change" and (row.get("year") or row.get("base_year")):
        return int(row.get("year") or row["base_year"])
    stamp = row.get("published") or row.get("fetched_at") or ""
    return int(stamp[:4]) if stamp[:4].isdigit() else None


def fact_summary(row: dict[str, Any]) -> str:
    """A stored fact row in a few words: ``increase 12% ghg (reported)``, ``$1bn data centres by 2030``."""
    if row["type"] == "emission_change":
        unit = row["unit"] if row["unit"] == "%" else f" {row['unit']}"
        base = f" vs {row['base_year']}" if row.get("base_year") and row.get("year") else ""
        return f"{row['direction']} {_text(row['value'])}{unit} {row['metric']}{base} ({row['status']})"
    if row["type"] == "investment":
        purpose = f" {row['purpose']}" if row.get("purpose") else ""
        by = f" by {row['by_year']}" if row.get("by_year") else ""
        return f"{row['currency']} {_money(row['amount'])}{purpose}{by} ({row['status']})"
    by = f" by {row['year']}" if row.get("year") else ""
    return f"{row['goal']}{by}"


def _money(amount: Any) -> str:
    value = float(amount or 0)
    for size, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return _text(value)


def timeline_rows(facts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts grouped by year, oldest first: emission changes, investments and pledges side by side.

    Each row: year, emissions, investments, pledges (lists of summaries, duplicates once) and
    sources (article URLs).
    """
    columns = {"emission_change": "emissions", "investment": "investments", "target": "pledges"}
    years: dict[int | None, dict[str, Any]] = {}
    for f in facts:
        year = fact_year(f)
        row = years.setdefault(year, {"year": year, "emissions": [], "investments": [], "pledges": [],
                                      "sources": []})
        summary = fact_summary(f)
        if summary not in row[columns[f["type"]]]:
            row[columns[f["type"]]].append(summary)
        if f.get("url") and f["url"] not in row["sources"]:
            row["sources"].append(f["url"])
    return [years[y] for y in sorted(years, key=lambda y: (y is None, y or 0))]


@query.command("timeline")
@click.argument("company")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the timeline to FILE.svg or FILE.png (needs the 'chart' extra: matplotlib).")
@common_options
def query_timeline(cfg: Config, company: str, fmt: str, chart_path: str | None) -> None:
    """A company's emission changes, investments and pledges by year, side by side."""
    if chart_path is not None:
        _check_chart_path(chart_path)
    with _open(cfg) as store:
        facts = store.company_timeline(company)
    if not facts:
        raise MonitorError(f"no facts about {company!r} in {cfg.storage.path} (see `pledgewatch query companies`)")
    rows = timeline_rows(facts)
    emit(rows if fmt == "json" else [_joined(r) for r in rows], fmt,
         ["year", "emissions", "investments", "pledges", "sources"])
    if chart_path is not None:
        draw_timeline_chart(facts[0]["company"], facts, Path(chart_path))
        click.echo(f"chart written to {chart_path}", err=True)


def _joined(row: dict[str, Any]) -> dict[str, Any]:
    return {k: "; ".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in row.items()}


def _check_chart_path(path: str) -> None:
    if Path(path).suffix.lower() not in (".svg", ".png"):
        raise click.BadParameter("the chart file must end in .svg or .png", param_hint="--chart")
    load_pyplot()


def load_pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend; a one-line error naming the extra if absent."""
    try:
        import matplotlib
    except ImportError:
        raise MonitorError("--chart needs matplotlib: pip install 'pledgewatch[chart]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_timeline_chart(company: str, facts: Sequence[dict[str, Any]], path: Path) -> None:
    """Draw reported emission changes by year (bars: % on the left axis, tCO2e on the right) and
    the company's pledges (dashed lines at their target years) to ``path`` (.svg or .png)."""
    plt = load_pyplot()
    changes = [f for f in facts if f["type"] == "emission_change" and fact_year(f) is not None]
    pledges = [f for f in facts if f["type"] == "target"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        _bars(ax, [f for f in changes if f["unit"] == "%"], "change (%)", offset=-0.2)
        tonnes = [f for f in changes if f["unit"] != "%"]
        if tonnes:
            _bars(ax.twinx(), tonnes, "change (tCO2e)", offset=0.2, hatch="//")
        ax.axhline(0, color="black", linewidth=0.8)
        for p in pledges:
            if p.get("year"):
                ax.axvline(int(p["year"]), color="green", linestyle="--", linewidth=1)
                ax.annotate(f"pledge: {fact_summary(p)}", (int(p["year"]), 0), rotation=90, fontsize=8,
                            xytext=(3, 5), textcoords="offset points", color="green")
        ax.set_title(f"{company}: reported emission changes and pledges")
        ax.set_xlabel("year")
        ax.xaxis.get_major_locator().set_params(integer=True)
        fig.tight_layout()
        try:
            fig.savefig(path, format=path.suffix.lower().lstrip("."))
        except OSError as e:
            raise MonitorError(f"cannot write chart {path}: {e}") from e
    finally:
        plt.close(fig)


def _bars(ax: Any, changes: Sequence[dict[str, Any]], label: str, *, offset: float, hatch: str = "") -> None:
    if not changes:
        return
    xs = [int(fact_year(f) or 0) + offset for f in changes]
    ys = [float(f["value"]) * (1 if f["direction"] == "increase" else -1) for f in changes]
    colors = ["#c0392b" if y > 0 else "#2e86c1" for y in ys]
    alphas = [1.0 if f["status"] == "reported" else 0.4 for f in changes]
    for x, y, c, a in zip(xs, ys, colors, alphas, strict=True):
        ax.bar(x, y, width=0.4, color=c, alpha=a, hatch=hatch)
    ax.set_ylabel(label)


# -- query search ----------------------------------------------------------------------------

def highlight(snippet: str, style: str) -> str:
    """Mark the store's ``[match]`` snippets for output: ``markdown`` (**match**), ``ansi`` (bold
    ``[match]``, plain brackets where colour is stripped) or ``plain`` (left as ``[match]``)."""
    if style == "markdown":
        return _HIT.sub(lambda m: f"**{m.group(1)}**", snippet.replace("*", "\\*"))
    if style == "ansi":
        return _HIT.sub(lambda m: click.style(f"[{m.group(1)}]", bold=True, fg="yellow"), snippet)
    return snippet


@query.command("search")
@click.argument("text")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--window", type=click.IntRange(1), default=2000, show_default=True,
              help="Rank the best matches among this many newest matches (keeps common words fast).")
@common_options
def query_search(cfg: Config, text: str, fmt: str, limit: int, window: int) -> None:
    """Full-text search over article titles, texts and fact evidence, with highlighted snippets.

    Every word must occur; the best matches come first, among the newest --window matches.
    """
    with _open(cfg) as store:
        rows = store.search_recent(text, limit=limit, window=window)
    if fmt in ("json", "csv"):
        emit(rows, fmt, ["kind", "title", "url", "published", "snippet", "article_id", "fact_id"])
    elif fmt == "markdown":
        md = [{"kind": r["kind"], "article": _md_link(r["title"] or r["url"] or f"article {r['article_id']}",
                                                      r["url"]),
               "published": (r["published"] or "")[:10], "snippet": highlight(r["snippet"] or "", "markdown")}
              for r in rows]
        click.echo(format_markdown(md, ["kind", "article", "published", "snippet"]))
    else:
        click.echo(format_hits(rows))


def _md_link(label: str, url: str | None) -> str:
    label = label.replace("[", "\\[").replace("]", "\\]")
    if url and url.startswith(("http://", "https://")):
        return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})"
    return label


def format_hits(rows: Sequence[dict[str, Any]], width: int | None = None) -> str:
    """Search hits as numbered blocks: title, date and kind; the link; the highlighted snippet."""
    if not rows:
        return "(no matches)"
    import shutil

    width = max(12, width or shutil.get_terminal_size((120, 24)).columns)
    out: list[str] = []
    for n, r in enumerate(rows, 1):
        meta = ", ".join(x for x in ((r["published"] or "")[:10], r["kind"]) if x)
        head = f"{n}. {r['title'] or '(untitled)'}" + (f"  ({meta})" if meta else "")
        out += [click.style(line, bold=True) for line in textwrap.wrap(head, width=width, subsequent_indent="   ")]
        url = r["url"] or ""
        out += ["   " + url[i:i + width - 3] for i in range(0, len(url), width - 3)]  # links wrap, never cut
        for line in textwrap.wrap(r["snippet"] or "", width=width - 3):
            out.append("   " + highlight(line, "ansi"))
    return "\n".join(out)


# -- query sql -------------------------------------------------------------------------------

_REFUSED = ("not authorized", "readonly", "read-only", "attempt to write", "may not be modified")


@query.command("sql")
@click.argument("statement")
@click.option("--format", "fmt", type=FORMATS, default="table")
@common_options
def query_sql(cfg: Config, statement: str, fmt: str) -> None:
    """Run one read-only SQL statement (SELECT ...) against the store; writes are refused."""
    with _open(cfg) as store:
        try:
            rows = store.query(statement)
        except StorageError as e:
            if any(word in str(e).lower() for word in _REFUSED):
                raise MonitorError("query sql is read-only: writes, ATTACH and PRAGMA are refused "
                                   f"({_first_word(statement)} not allowed)") from None
            raise
    columns = list(dict.fromkeys(k for r in rows for k in r))
    emit(rows, fmt, columns)


def _first_word(statement: str) -> str:
    words = statement.strip().split(None, 1)
    return words[0].upper() if words else "statement"


# -- reprocess -------------------------------------------------------------------------------

@cli_module.cli.command()
@click.option("--since", type=click.DateTime(), default=None,
              help="Only articles published (else fetched) since then.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=32, show_default=True)
@common_options
def reprocess(cfg: Config, since: datetime | None, dry_run: bool, batch_size: int) -> None:
    """Re-run the current extractor over stored articles; print facts and alerts new, changed, gone."""
    from monitor.reprocess import apply_plan, extract_stored, load_stored, plan_reprocess, report_lines
    from monitor.service import utcnow

    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    store = Store.open_readonly(cfg.storage.path) if dry_run else Store.open(cfg.storage.path)
    with store:
        stored = load_stored(store, since_utc)
        from monitor.extract import EXTRACTOR_VERSION, Extractor

        extractor = Extractor.load(cfg.extract.model, cfg.extract.models_dir)
        with click.progressbar(length=len(stored.rows), label="extracting", file=sys.stderr) as bar:
            extract_stored(stored, extractor, batch_size=batch_size, progress=bar.update)
        plan = plan_reprocess(stored, store.alert_links(), cfg.alerts, EXTRACTOR_VERSION)
        for line in report_lines(plan):
            click.echo(line)
        if dry_run:
            click.echo("Dry run: nothing was changed.")
            return
        counts = apply_plan(store, plan, utcnow())
    click.echo(f"Applied: facts of {counts['articles']} articles rewritten, {counts['alerts_created']} alerts "
               f"created, {counts['sources_added']} alert sources added, {counts['alerts_deleted']} alerts deleted"
               + (f", {counts['kept_sent']} already-sent alerts kept" if counts["kept_sent"] else "") + ".")


# -- purge (retention) -----------------------------------------------------------------------

@cli_module.cli.command()
@click.option("--days", type=click.IntRange(1), default=None,
              help="Purge text older than this many days (default: [storage] retention_days).")
@common_options
def purge(cfg: Config, days: int | None) -> None:
    """Blank the text of old articles now; facts, evidence, alerts and tombstones stay.

    The daemon does this once a day when [storage] retention_days is set.
    """
    from monitor.service import Service, utcnow

    keep = days or cfg.storage.retention_days
    if keep <= 0:
        raise click.UsageError("nothing to purge: pass --days N or set [storage] retention_days")
    with Service(cfg) as svc:
        purged = svc.purge_old_text(utcnow(), keep)
    articles = "article" if purged == 1 else "articles"
    click.echo(f"purged the text of {purged} {articles} older than {keep} day{'s' if keep != 1 else ''}")


# -- serve (Datasette) -----------------------------------------------------------------------

TABLE_DESCRIPTIONS = {
    "feeds": "Watched feeds and their polling state: validators, schedule, errors, 410 Gone, Retry-After.",
    "feed_urls": "Earlier URLs of feeds that moved (301), so entries stored under them are still recognised.",
    "entries": "Items seen in feeds, with their processing state (new, fetched, extracted, alerted, failed).",
    "tombstones": "Entries deleted on purpose: never fetched again.",
    "meta": "Store settings: creation time, time of the last digest.",
    "_migrations": "Schema versions applied to this file, in order.",
    "articles": "Main text of each entry (empty once purged by retention), with metadata and content hash.",
    "companies": "Companies seen in facts (canonical names).",
    "facts": "Emission changes, investments and pledges (targets) found in articles, with the evidence sentence, "
             "its character offsets, confidence and extractor version.",
    "alerts": "Reported emission increases, one per real-world change, however many outlets carried it.",
    "alert_sources": "The outlets that reported each alert (one per outlet), with the sentence.",
    "deliveries": "Digests sent on a channel (smtp, file) and their outcome.",
    "delivery_items": "Alert x channel: sent, being sent or failed (with retry time). A sent alert is never resent.",
    "emission_increases": "View: every emission change with direction 'increase', with its article.",
    "company_timeline": "View: every fact with a company, by year, with a one-line summary and its article.",
    "latest_alerts": "View: alerts, newest first, with the number of outlets and their URLs.",
    "article_clusters": "Story clusters: each article's cluster (the id of the story's first article), outlet, "
                        "MinHash signature, the near-duplicate that placed it there and their similarity.",
    "lsh_buckets": "LSH bucket keys of article signatures, for finding near-duplicate candidates.",
    "story_clusters": "View: one row per story, with its title, articles, outlets and duplicates.",
    "alert_reports": "View: per alert, the outlets and the independent reports (stories) behind it.",
}

CANNED_QUERIES = {
    "rising_emissions_since": {
        "title": "Companies that reported rising emissions since a date",
        "sql": "SELECT company, metric, value, unit, year, url, published FROM emission_increases "
               "WHERE status = 'reported' AND published >= :since ORDER BY company, published",
    },
    "rising_emissions_this_quarter": {
        "title": "Companies that reported rising emissions this quarter",
        "sql": "SELECT company, metric, value, unit, year, url, published FROM emission_increases "
               "WHERE status = 'reported' AND published >= date('now', 'start of month', "
               "'-' || ((CAST(strftime('%m', 'now') AS INTEGER) - 1) % 3) || ' months') ORDER BY company, published",
    },
    "what_did_company_say": {
        "title": "What did a company say about a subject (full text over fact evidence)",
        "description": "words: full-text query, e.g. data centres",
        "sql": "SELECT f.type, snippet(facts_fts, 0, '[', ']', '…', 20) AS said, a.url, a.published "
               "FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid JOIN articles a ON a.id = f.article_id "
               "WHERE facts_fts MATCH :words AND f.company = :company COLLATE NOCASE ORDER BY rank LIMIT 100",
    },
    "company_timeline": {
        "title": "A company's emission changes, investments and pledges by year",
        "sql": "SELECT year, type, summary, evidence, url FROM company_timeline "
               "WHERE company = :company COLLATE NOCASE ORDER BY year, type",
    },
    "emissions_vs_pledge": {
        "title": "A company's reported emissions vs its pledges, by year",
        "description": "company: its canonical name, e.g. Amazon. Emission changes at the year they describe, "
                       "pledges at their target year, investments at their deadline.",
        "sql": "SELECT year, "
               "group_concat(CASE WHEN type = 'emission_change' AND status = 'reported' THEN summary END, ' / ') "
               "AS reported_emissions, group_concat(CASE WHEN type = 'target' THEN summary END, ' / ') AS pledges, "
               "group_concat(CASE WHEN type = 'investment' THEN summary END, ' / ') AS investments "
               "FROM company_timeline WHERE company = :company COLLATE NOCASE GROUP BY year ORDER BY year",
    },
    "pledge_gap": {
        "title": "Emissions rose while a pledge is on record",
        "sql": "SELECT i.company, i.year, i.value || i.unit AS rise, i.metric, "
               "group_concat(DISTINCT t.goal || COALESCE(' by ' || t.year, '')) AS pledges, i.url "
               "FROM emission_increases i JOIN facts t ON t.type = 'target' AND t.company = i.company COLLATE NOCASE "
               "WHERE i.status = 'reported' GROUP BY i.fact_id ORDER BY i.year DESC, i.company",
    },
    "failing_feeds": {
        "title": "Feeds that are failing, and why",
        "sql": "SELECT name, url, error_count, last_error, next_check FROM feeds "
               "WHERE active = 1 AND (error_count > 0 OR gone = 1) ORDER BY error_count DESC",
    },
}


def datasette_metadata(db_name: str) -> dict[str, Any]:
    """Datasette metadata for the store: a description of every table and view, canned queries."""
    return {
        "title": "Pledgewatch",
        "description": "Company emission changes, investments and pledges found in the news, and the alerts "
                       "raised on reported increases. Read-only.",
        "databases": {db_name: {
            "tables": {name: {"description": text} for name, text in TABLE_DESCRIPTIONS.items()},
            "queries": CANNED_QUERIES,
        }},
    }


@cli_module.cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@common_options
def serve(cfg: Config, port: int) -> None:
    """Browse the store in Datasette on 127.0.0.1 (needs the 'serve' extra), read-only."""
    try:
        import uvicorn
        from datasette.app import Datasette
    except ImportError:
        raise MonitorError("serve needs Datasette: pip install 'pledgewatch[serve]'") from None
    path = Path(cfg.storage.path)
    if not path.exists():
        raise StorageError(f"{path}: no such database (run `pledgewatch init` first)")
    ds = Datasette([str(path)], metadata=datasette_metadata(path.stem),
                   settings={"sql_time_limit_ms": 3000, "allow_download": False})
    click.echo(f"Serving {path} at http://127.0.0.1:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(ds.app(), host="127.0.0.1", port=port, log_level="warning")
