"""``pledgewatch feeds list|add|remove|import-opml|export-opml|discover`` (issue 4).

Two kinds of feed live in the database, told apart by ``feeds.origin``:

* **config** feeds are the ``[[feeds]]`` of config.toml. Every cycle (and ``init``) syncs them:
  new ones are added, changed names/tags/intervals applied, and feeds taken out of the file
  become inactive (kept with their history). They are managed by editing the file: ``feeds
  remove`` refuses them and says so.
* **user** feeds are added with ``feeds add`` or ``feeds import-opml`` and stay until ``feeds
  remove`` (which deactivates them, keeping their entries; adding them again reactivates them).
  Syncing never touches them. A URL added by the user that later appears in config.toml becomes a
  config feed.

``discover URL`` fetches a page with the Fetcher, lists the feeds it advertises
(``<link rel="alternate">``), and when it advertises none, tries a few common paths (``/feed``,
``/rss.xml``, ...); only documents that parse as feeds are listed. ``--add`` adds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import click

from monitor.cli import _emit, _short_time, cli, common_options
from monitor.config import Config
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.feeds import discover_feed_links, parse_feed
from monitor.fetch import Fetcher
from monitor.opml import OpmlFeed, parse_opml, render_opml

FORMATS = click.Choice(["table", "json", "csv", "markdown"])
COMMON_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json",
                "/feeds/posts/default")
LIST_COLUMNS = ["url", "name", "origin", "state", "tags", "last_check", "next_check", "errors", "entries",
                "last_error"]


@cli.group()
def feeds() -> None:
    """Manage watched feeds: list, add, remove, import/export OPML, discover a site's feeds."""


# -- list / add / remove ---------------------------------------------------------------------

@feeds.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--all", "show_all", is_flag=True, help="Include inactive (removed) feeds.")
@common_options
def list_feeds(cfg: Config, fmt: str, show_all: bool) -> None:
    """Every watched feed with its origin (config or user), state and schedule."""
    from monitor.service import Service, utcnow

    with Service(cfg) as svc:
        svc.store.sync_feeds(cfg.feeds, utcnow())
        counts = svc.store.stored_entry_counts()
        rows = [feed_record(f, counts.get(f.url, 0)) for f in svc.store.feed_rows() if show_all or f.active]
    _emit(rows, fmt, LIST_COLUMNS)


def feed_record(feed: Any, stored: int) -> dict[str, Any]:
    """A feed row as a JSON-ready object."""
    state = "gone" if feed.gone else "inactive" if not feed.active else "failing" if feed.error_count else "ok"
    return {"url": feed.url, "name": feed.name, "origin": feed.origin, "state": state, "tags": list(feed.tags),
            "interval": feed.interval, "last_check": _short_time(feed.last_checked),
            "next_check": _short_time(feed.next_check), "errors": feed.error_count, "entries": stored,
            "entries_in_feed": feed.entry_count, "last_error": feed.last_error}


@feeds.command("add")
@click.argument("url")
@click.option("--name", default="", help="Display name.")
@click.option("--tag", "tags", multiple=True, help="A label (repeatable).")
@common_options
def add_feed(cfg: Config, url: str, name: str, tags: tuple[str, ...]) -> None:
    """Watch the feed at URL (stored in the database; polled from the next cycle)."""
    from monitor.service import Service, utcnow

    _require_http(url)
    with Service(cfg) as svc:
        svc.store.sync_feeds(cfg.feeds, utcnow())
        outcome = svc.store.add_user_feed(url, utcnow(), name=name, tags=tags)
    click.echo({"added": f"added {url}", "reactivated": f"watching {url} again",
                "exists": f"{url} is already watched"}[outcome])


@feeds.command("remove")
@click.argument("url")
@common_options
def remove_feed(cfg: Config, url: str) -> None:
    """Stop watching a feed added with `feeds add` / `import-opml` (its history is kept)."""
    from monitor.service import Service, utcnow

    with Service(cfg) as svc:
        svc.store.sync_feeds(cfg.feeds, utcnow())
        outcome = svc.store.remove_user_feed(url)
    if outcome == "config":
        where = cfg.path or "the configuration"
        raise click.ClickException(f"{url} comes from {where}: remove its [[feeds]] entry there")
    if outcome == "unknown":
        raise click.ClickException(f"{url} is not watched")
    click.echo(f"removed {url}")


def _require_http(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(f"{url}: only http and https URLs can be watched")


# -- OPML ------------------------------------------------------------------------------------

@feeds.command("import-opml")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@common_options
def import_opml(cfg: Config, path: str) -> None:
    """Watch every feed an OPML file lists (folders become tags)."""
    from monitor.service import Service, utcnow

    with click.open_file(path, "rb") as fh:
        listed = parse_opml(fh.read(), path)
    outcomes: dict[str, int] = {"added": 0, "reactivated": 0, "exists": 0}
    with Service(cfg) as svc:
        now = utcnow()
        svc.store.sync_feeds(cfg.feeds, now)
        for item in listed:
            outcomes[svc.store.add_user_feed(item.url, now, name=item.title, tags=item.tags)] += 1
    click.echo(f"{path}: {len(listed)} feeds listed, {outcomes['added']} added, "
               f"{outcomes['reactivated']} watched again, {outcomes['exists']} already watched")


@feeds.command("export-opml")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output file (default: standard output).")
@common_options
def export_opml(cfg: Config, output_path: str) -> None:
    """Write the active feeds (config and user) as OPML 2.0."""
    from monitor.service import Service, utcnow

    with Service(cfg) as svc:
        now = utcnow()
        svc.store.sync_feeds(cfg.feeds, now)
        listed = [OpmlFeed(url=f.url, title=f.name, tags=f.tags) for f in svc.store.feed_rows()
                  if f.active and not f.gone]
    data = render_opml(listed, title="Pledgewatch feeds", now=now)
    with click.open_file(output_path, "wb", atomic=output_path != "-") as fh:
        fh.write(data)
    if output_path != "-":
        click.echo(f"wrote {len(listed)} feeds to {Path(output_path)}", err=True)


# -- discover --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Discovered:
    """A feed found for a site."""

    url: str
    title: str
    entries: int
    how: str  # "the page itself", "link rel=alternate", "common path"


def discover_feeds(fetcher: Fetcher, url: str) -> list[Discovered]:
    """The feeds ``url`` is or advertises; when it advertises none, feeds at common paths.

    Raises ``FetchError`` when the page itself cannot be fetched.
    """
    page = fetcher.get(url)
    base = page.final_url or url
    itself = _as_feed(page.body, base, page.headers, "the page itself")
    if itself is not None:
        return [itself]
    found = [d for link in discover_feed_links(page.body, base)
             if (d := _probe(fetcher, link, "link rel=alternate")) is not None]
    if found:
        return _unique(found)
    probes = [_probe(fetcher, urljoin(base, path), "common path") for path in COMMON_PATHS]
    return _unique([d for d in probes if d is not None])


def _probe(fetcher: Fetcher, url: str, how: str) -> Discovered | None:
    try:
        result = fetcher.get(url)
    except FetchError:
        return None
    return _as_feed(result.body, result.final_url or url, result.headers, how)


def _as_feed(body: bytes, url: str, headers: dict[str, str], how: str) -> Discovered | None:
    try:
        feed = parse_feed(body, url, headers)
    except ParseError:
        return None
    if not feed.entries and not feed.title:
        return None
    return Discovered(url=url, title=feed.title, entries=len(feed.entries), how=how)


def _unique(found: list[Discovered]) -> list[Discovered]:
    seen: dict[str, Discovered] = {}
    for d in found:
        seen.setdefault(d.url, d)
    return list(seen.values())


@feeds.command("discover")
@click.argument("url")
@click.option("--add", "add", is_flag=True, help="Watch the feeds found.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@common_options
def discover(cfg: Config, url: str, add: bool, fmt: str) -> None:
    """Find the feeds of the site at URL (its <link rel="alternate">, else common paths)."""
    from monitor.service import Service, utcnow

    _require_http(url)
    with Fetcher(cfg.fetch) as fetcher:
        found = discover_feeds(fetcher, url)
    if not found:
        raise MonitorError(f"no feed found at {url} (no <link rel=\"alternate\"> and none at common paths)")
    _emit([{"url": d.url, "title": d.title, "entries": d.entries, "found_by": d.how} for d in found], fmt,
          ["url", "title", "entries", "found_by"])
    if add:
        with Service(cfg) as svc:
            now = utcnow()
            svc.store.sync_feeds(cfg.feeds, now)
            for d in found:
                outcome = svc.store.add_user_feed(d.url, now, name=d.title)
                click.echo(f"{d.url}: {outcome}", err=True)
