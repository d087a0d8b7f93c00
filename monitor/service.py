"""The service API: wires the stages together.

The CLI and the daemon are thin shells over ``Service``; it is importable as a library::

    from monitor.config import load_config
    from monitor.service import Service

    with Service(load_config("config.toml")) as svc:
        report = svc.run_cycle(now)

Network (fetch.py), database (store/) and delivery (notify.py) are the edges; parsing,
extraction, alert rules and digest rendering are pure functions called from here.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor import alerts as alert_rules
from monitor import schedule
from monitor.config import Config
from monitor.digest import render_digest
from monitor.errors import DeliveryError, FetchError, MonitorError, ParseError
from monitor.feeds import parse_feed
from monitor.fetch import AddressRefused, Fetcher, FetchResult, RobotsDisallowed
from monitor.fx import load_fx_table
from monitor.notify import make_message_id, send_apprise, send_smtp, write_digest_file
from monitor.store import Store
from monitor.store.store import outlet_of
from monitor.text import article_from_entry, extract_article
from monitor.types import Article, Digest, EmissionChange, Feed, Source

if TYPE_CHECKING:
    from monitor.clusters import Placement
    from monitor.extract import Extractor
    from monitor.store.store import EntryRow, FeedRow

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
ARTICLE_RETRY_BASE = timedelta(minutes=15)
ARTICLE_MAX_ATTEMPTS = 8
DELIVERY_LOCK_TIMEOUT = 120.0  # seconds a sender waits for another one to finish


def _never() -> bool:
    return False


@dataclass
class CycleReport:
    """What one cycle did; printed by ``run --once`` and logged by the daemon."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    entries_new: int = 0
    articles: int = 0
    articles_failed: int = 0
    facts: int = 0
    alerts_new: int = 0
    digests_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"polled {self.feeds_polled} feeds ({self.feeds_failed} failed), "
                f"{self.entries_new} new entries, {self.articles} articles "
                f"({self.articles_failed} failed), {self.facts} facts, {self.alerts_new} new alerts, "
                f"{self.digests_sent} digests sent")


class Service:
    """Pledgewatch's operations over one configuration and one store."""

    def __init__(self, cfg: Config, *, store: Store | None = None,
                 extractor: Extractor | None = None, fetcher: Fetcher | None = None) -> None:
        self.cfg = cfg
        self.store = store or Store.open(cfg.storage.path)
        self._extractor = extractor
        self.fetcher = fetcher or Fetcher(cfg.fetch)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def extractor(self) -> Extractor:
        """The spaCy-based extractor, loaded on first use (loading takes a few seconds)."""
        if self._extractor is None:
            from monitor.extract import Extractor
            self._extractor = Extractor.load(self.cfg.extract.model, self.cfg.extract.models_dir)
        return self._extractor

    # -- one cycle -------------------------------------------------------------------------
    def run_cycle(self, now: datetime | None = None, *, ignore_schedule: bool = False,
                  send_digests: bool = True, should_stop: Callable[[], bool] | None = None) -> CycleReport:
        """Poll due feeds, process new entries, raise alerts, send due digests.

        ``should_stop`` (the daemon's shutdown check) is asked between stages and batches; when it
        turns true the cycle returns early, leaving every entry in its last committed state.
        """
        now = now or utcnow()
        stop = should_stop or _never
        report = CycleReport()
        self.store.sync_feeds(self.cfg.feeds, now)
        if not stop():
            self.poll_due_feeds(now, report, ignore_schedule=ignore_schedule)
        if not stop():
            self.process_pending(now, report, ignore_schedule=ignore_schedule, should_stop=stop)
        if send_digests and not stop():
            self.send_immediate_and_retries(now, report)
            self.send_due_digests(now, report)
        return report

    def poll_due_feeds(self, now: datetime, report: CycleReport, *, ignore_schedule: bool = False) -> None:
        """Fetch every due feed (in parallel), store its new entries; a failure stays with its feed."""
        feeds = self.store.due_feeds(now, ignore_schedule=ignore_schedule)
        if not feeds:
            return
        with ThreadPoolExecutor(max_workers=max(1, min(self.cfg.fetch.workers, len(feeds)))) as pool:
            results = list(pool.map(self._fetch_feed, feeds))
        for feed, outcome in zip(feeds, results, strict=True):
            report.feeds_polled += 1
            try:
                if isinstance(outcome, BaseException):
                    raise outcome
                report.entries_new += self._store_feed(feed, outcome, now)
            except MonitorError as e:
                report.feeds_failed += 1
                report.errors.append(f"feed {feed.url}: {e}")
                log.warning("feed %s failed: %s", feed.url, e)
                self._record_feed_error(feed, e, now)
            except Exception as e:  # noqa: BLE001 - one feed must not stop the others
                report.feeds_failed += 1
                report.errors.append(f"feed {feed.url}: unexpected error: {e!r}")
                log.exception("feed %s: unexpected error", feed.url)
                self._record_feed_error(feed, e, now)

    def _fetch_feed(self, feed: FeedRow) -> FetchResult | BaseException:
        try:
            return self.fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except Exception as e:  # noqa: BLE001 - returned to the caller, recorded on the feed
            return e

    def _store_feed(self, feed: FeedRow, result: FetchResult, now: datetime) -> int:
        next_check = self._next_check(feed, now, result)
        if result.not_modified:
            self.store.record_feed_ok(feed.url, now, next_check=next_check, etag=result.etag or feed.etag,
                                      last_modified=result.last_modified or feed.last_modified,
                                      new_url=result.permanent_url, not_modified=True)
            return 0
        parsed = parse_feed(result.body, result.final_url or feed.url, result.headers)
        next_check = self._next_check(feed, now, result, parsed)
        new = 0
        for entry in parsed.entries:
            # Entries belong to the feed as configured; links resolve against where it was served.
            if self.store.add_entry(dataclasses.replace(entry, feed_url=feed.url), now) is not None:
                new += 1
        self.store.record_feed_ok(feed.url, now, next_check=next_check, etag=result.etag,
                                  last_modified=result.last_modified, new_url=result.permanent_url,
                                  entries_seen=len(parsed.entries))
        log.info("feed %s: %d entries, %d new", feed.url, len(parsed.entries), new)
        return new

    def _record_feed_error(self, feed: FeedRow, error: BaseException, now: datetime) -> None:
        status = getattr(error, "status", None)
        retry_after = getattr(error, "retry_after", None)
        facts = schedule.ErrorFacts(interval=feed.interval, errors=feed.error_count + 1, status=status,
                                    retry_after=retry_after)
        decision = schedule.next_check_after_error(now, facts, schedule.limits_of(self.cfg.schedule),
                                                   rand=random.random())
        log.debug("feed %s: next check %s (%s)", feed.url, decision.when.isoformat(), decision.reason)
        retry_until = now + timedelta(seconds=retry_after) if retry_after else None
        self.store.record_feed_error(feed.url, now, error=str(error) or type(error).__name__,
                                     next_check=decision.when, gone=decision.gone, retry_after_until=retry_until)

    def _interval(self, feed: FeedRow) -> timedelta:
        minutes = feed.interval or self.cfg.schedule.poll_interval
        minutes = max(self.cfg.schedule.min_interval, min(self.cfg.schedule.max_interval, minutes))
        return timedelta(minutes=minutes)

    def _next_check(self, feed: FeedRow, now: datetime, result: FetchResult, parsed: Feed | None = None) -> datetime:
        """monitor.schedule's decision from this poll (on a 304, from the entries already stored)."""
        dates = ([e.published for e in parsed.entries if e.published] if parsed is not None
                 else self.store.recent_entry_dates(feed.url))
        facts = schedule.PollFacts(interval=feed.interval, entry_dates=tuple(dates),
                                   ttl=parsed.ttl if parsed is not None else None, headers=result.headers,
                                   retry_after=result.retry_after)
        decision = schedule.next_check(now, facts, schedule.limits_of(self.cfg.schedule), rand=random.random())
        log.debug("feed %s: next check %s (%s)", feed.url, decision.when.isoformat(), decision.reason)
        return decision.when

    # -- entries -> articles -> facts -> alerts --------------------------------------------
    def process_pending(self, now: datetime, report: CycleReport, *, ignore_schedule: bool = False,
                        batch: int = 50, should_stop: Callable[[], bool] | None = None) -> None:
        """Fetch, extract and alert every pending entry, a batch at a time (until ``should_stop``)."""
        stop = should_stop or _never
        self._prune_story_index(now)
        while not stop():
            rows = self.store.pending_entries(now, limit=batch, ignore_schedule=ignore_schedule)
            if not rows:
                return
            with ThreadPoolExecutor(max_workers=max(1, min(self.cfg.fetch.workers, len(rows)))) as pool:
                fetched = list(pool.map(self._article_for, rows))
            if stop():
                return  # the batch stays pending (or failed, for retry) and is redone next time
            done = [(row, art) for row, art in zip(rows, fetched, strict=True) if art is not None]
            report.articles_failed += sum(1 for art in fetched if art is None)
            facts_lists = self.extractor.extract_many(
                [(a.text, a.title, a.published.date() if a.published else None) for _, a in done])
            for (row, article), facts in zip(done, facts_lists, strict=True):
                try:
                    self._store_article(row, article, list(facts), now, report)
                except MonitorError as e:
                    report.errors.append(f"entry {row.entry.link or row.entry.entry_id}: {e}")
                    log.warning("entry %s: %s", row.entry.link, e)
                    self._fail_entry(row, now, str(e))
            if len(rows) < batch:
                return

    def _article_for(self, row: EntryRow) -> Article | None:
        """The entry's article from its page, falling back to the feed's text; None to retry later."""
        entry = row.entry
        if not entry.link:
            return article_from_entry(entry)
        try:
            result = self.fetcher.get(entry.link, article=True)
        except (AddressRefused, RobotsDisallowed) as e:
            log.info("article %s: %s; using the feed's text", entry.link, e)
            return article_from_entry(entry)
        except FetchError as e:
            has_feed_text = bool((entry.content or entry.summary).strip())
            transient = e.status is None or e.status >= 500 or e.status == 429
            if transient and row.attempts + 1 < ARTICLE_MAX_ATTEMPTS and not has_feed_text:
                self._fail_entry(row, utcnow(), str(e), retry_after=e.retry_after)
                return None
            log.info("article %s: %s; using the feed's text", entry.link, e)
            return article_from_entry(entry)
        try:
            return extract_article(result.body, result.final_url or entry.link, entry=entry,
                                   content_type=result.headers.get("content-type"))
        except ParseError as e:
            log.info("article %s: %s; using the feed's text", entry.link, e)
            return article_from_entry(entry)

    def _fail_entry(self, row: EntryRow, now: datetime, error: str, retry_after: float | None = None) -> None:
        delay = ARTICLE_RETRY_BASE * (2 ** min(row.attempts, 6))
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        self.store.mark_entry_failed(row.id, now, error, now + min(delay, MAX_BACKOFF))

    def _store_article(self, row: EntryRow, article: Article, facts: list[Any], now: datetime,
                       report: CycleReport) -> None:
        from monitor.clusters import unseen_facts
        from monitor.extract import EXTRACTOR_VERSION

        story = self._place_story(row, article, now)  # story clusters: monitor/clusters.py
        if story is not None and story.duplicate_of is not None:  # this outlet already carried the story:
            facts = unseen_facts(facts, self.store.facts_of_articles([story.duplicate_of])[story.duplicate_of])
        article_id = self.store.save_extraction(row.id, article, facts, EXTRACTOR_VERSION, now)
        if story is not None:
            self.store.save_cluster(article_id, story.assignment, outlet=story.outlet, signature=story.signature,
                                    buckets=story.buckets, now=now)
        report.articles += 1
        report.facts += len(facts)
        source = Source(url=article.url or row.entry.link, title=article.title or row.entry.title,
                        feed=row.feed_url, published=article.published or row.entry.published,
                        sentence="")
        for fact in alert_rules.alert_candidates(facts, self.cfg.alerts):
            assert isinstance(fact, EmissionChange)
            sentence = fact.evidence.sentence if fact.evidence else ""
            src = Source(source.url, source.title, source.feed, source.published, sentence)
            _, created = self.store.record_alert(
                fact, key=alert_rules.alert_key(fact), article_id=article_id, source=src, now=now,
                severity=alert_rules.severity(fact.value, fact.unit, 1))
            report.alerts_new += int(created)
        report.alerts_new += self._record_investment_alerts(facts, article_id, source, now)
        self.store.mark_entry_alerted(row.id)

    def _record_investment_alerts(self, facts: list[Any], article_id: int, source: Source, now: datetime) -> int:
        """Record the investments at or above ``[alerts] min_investment_usd``; returns how many are new."""
        if self.cfg.alerts.min_investment_usd <= 0:
            return 0
        fx = load_fx_table(self.cfg.extract.models_dir)
        year = (source.published or now).year  # the year it was announced
        new = 0
        for c in alert_rules.investment_candidates(facts, self.cfg.alerts, fx):
            src = dataclasses.replace(source, sentence=c.fact.evidence.sentence if c.fact.evidence else "")
            _, created = self.store.record_investment_alert(
                c.fact, key=alert_rules.investment_key(c.fact.company or "", c.amount_usd, year),
                amount_usd=c.amount_usd, fx_date=fx.as_of, period=year, article_id=article_id, source=src, now=now)
            new += int(created)
        return new

    def _place_story(self, row: EntryRow, article: Article, now: datetime) -> Placement | None:
        """The article's story cluster among articles seen within ``[dedup] window_days``."""
        from monitor.clusters import place_article  # numpy and datasketch load on first use

        if not self.cfg.dedup.enabled:
            return None
        since = now - timedelta(days=self.cfg.dedup.window_days)
        outlet = outlet_of(article.url or row.entry.link, row.feed_url)
        placement = place_article(
            article.text, outlet, lambda keys: self.store.cluster_candidates(keys, since=since, exclude_entry=row.id),
            self.cfg.dedup.threshold)
        if placement.duplicate_of is not None:
            log.info("article %s repeats article %d from %s (similarity %.2f): no new facts",
                     article.url or row.entry.link, placement.duplicate_of, outlet, placement.assignment.similarity)
        return placement

    def _prune_story_index(self, now: datetime) -> None:
        """Keep the LSH index to ``[dedup] window_days``: older articles leave it."""
        if self.cfg.dedup.enabled:
            self.store.prune_cluster_index(now - timedelta(days=self.cfg.dedup.window_days))

    # -- digests ---------------------------------------------------------------------------
    def channels(self) -> list[str]:
        """The delivery channels the configuration turns on."""
        out = []
        if self.cfg.digest.smtp.enabled:
            out.append("smtp")
        if self.cfg.digest.file.path is not None:
            out.append("file")
        out.extend(f"apprise:{ch.name}" for ch in self.cfg.digest.apprise)
        return out

    def is_immediate(self, channel: str) -> bool:
        """True when ``channel`` also gets each cycle's new alerts at the end of that cycle."""
        if channel.startswith("apprise:"):
            return any(ch.immediate for ch in self.cfg.digest.apprise if f"apprise:{ch.name}" == channel)
        return {"smtp": self.cfg.digest.smtp.immediate, "file": self.cfg.digest.file.immediate}.get(channel, False)

    def send_immediate_and_retries(self, now: datetime, report: CycleReport | None = None) -> list[str]:
        """End of a cycle: immediate channels get every alert they have not had (failed ones once
        their back-off has run out); other channels get only the failed alerts now due for retry.
        Through the outbox, so what is sent here is never repeated by the next digest."""
        lines = []
        with self._delivery_lock():
            if "file" in self.channels():
                self.settle_stuck_file_deliveries(now)
            for channel in self.channels():
                ids = (self.store.undelivered_alert_ids(channel, now=now) if self.is_immediate(channel)
                       else self.store.retry_due_alert_ids(channel, now))
                if ids:
                    lines.append(self._send_channel(channel, now, report, ids=ids))
        return lines

    def preview_digest(self, now: datetime | None = None, since: datetime | None = None) -> Digest:
        """The digest of alerts not yet delivered on every channel (or since a time), unsent."""
        now = now or utcnow()
        if since is not None:
            alerts = self.store.alerts(since=since)
        else:
            ids: set[int] = set()
            channels = self.channels() or ["preview"]
            for ch in channels:
                ids.update(self.store.undelivered_alert_ids(ch))
            alerts = [a for a in self.store.alerts() if a.id in ids]
        return render_digest(alerts, now=now)

    def send_digests(self, now: datetime | None = None, *, report: CycleReport | None = None,
                     since: datetime | None = None) -> list[str]:
        """Send each channel the alerts it has not had; returns one line per channel."""
        now = now or utcnow()
        lines = []
        with self._delivery_lock():
            if "file" in self.channels():
                self.settle_stuck_file_deliveries(now)
            for channel in self.channels():
                lines.append(self._send_channel(channel, now, report, since=since))
        if not self.channels():
            lines.append("no delivery channel configured ([digest.smtp] host, [digest.file] path or "
                         "[[digest.apprise]])")
        return lines

    def _send_channel(self, channel: str, now: datetime, report: CycleReport | None,
                      since: datetime | None = None, ids: list[int] | None = None) -> str:
        ids = self.store.undelivered_alert_ids(channel) if ids is None else ids
        alerts = [a for a in self.store.alerts(since=since) if a.id in set(ids)]
        if not alerts and not self.cfg.digest.send_empty:
            return f"{channel}: nothing new to send"
        digest = render_digest(alerts, now=now)
        alert_ids = [a.id for a in alerts if a.id is not None]
        key = f"{channel}:{now.isoformat()}:{','.join(map(str, alert_ids))}"
        message_id = make_message_id(key)
        delivery_id = self.store.begin_delivery(channel, alert_ids, now, message_id)
        try:
            self._deliver(channel, digest, message_id, now)
        except DeliveryError as e:
            self.store.finish_delivery(delivery_id, now, ok=False, error=str(e))
            log.warning("digest via %s failed: %s", channel, e)
            if report is not None:
                report.errors.append(f"digest {channel}: {e}")
            return f"{channel}: failed: {e}"
        self.store.finish_delivery(delivery_id, now, ok=True)
        if report is not None:
            report.digests_sent += 1
        return f"{channel}: sent {len(alert_ids)} alerts ({digest.subject})"

    def _deliver(self, channel: str, digest: Digest, message_id: str, now: datetime) -> None:
        if channel == "smtp":
            send_smtp(digest, self.cfg.digest.smtp, message_id=message_id)
        elif channel == "file":
            assert self.cfg.digest.file.path is not None
            name = digest_file_name(now, message_id)
            try:
                write_digest_file(digest, self.cfg.digest.file.path, name=name)
            except OSError as e:
                raise DeliveryError(f"cannot write digest to {self.cfg.digest.file.path}: {e}") from e
        elif channel.startswith("apprise:"):
            cfg = next(ch for ch in self.cfg.digest.apprise if f"apprise:{ch.name}" == channel)
            send_apprise(digest, cfg, key=message_id)
        else:  # pragma: no cover - channels() lists only the above
            raise DeliveryError(f"unknown channel {channel!r}")

    @contextmanager
    def _delivery_lock(self) -> Iterator[None]:
        """Hold ``<db>.deliver.lock`` while sending: one sender per database at a time, so a
        delivery still ``sending`` that a lock holder sees was left by a dead process."""
        path = self.store.path.with_name(self.store.path.name + ".deliver.lock")
        with open(path, "a+b") as fh:
            deadline = time.monotonic() + DELIVERY_LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DeliveryError(f"another process has been sending digests for "
                                            f"{DELIVERY_LOCK_TIMEOUT:.0f} s (lock {path})") from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def settle_stuck_file_deliveries(self, now: datetime) -> int:
        """Settle file deliveries a crash left ``sending`` (call with the delivery lock held).

        Both files present: it was delivered, mark it sent. Otherwise remove any partial file and
        release its alerts for the next digest. Returns how many were settled.
        """
        folder = self.cfg.digest.file.path
        if folder is None:
            return 0
        stuck = self.store.stuck_deliveries("file")
        for d in stuck:
            name = digest_file_name(d.created_at, d.message_id)
            paths = [folder / f"{name}.md", folder / f"{name}.html"]
            delivered = all(p.exists() for p in paths)
            if not delivered:
                for p in paths:
                    p.unlink(missing_ok=True)
            self.store.resolve_stuck_delivery(d.id, now, delivered=delivered)
            log.warning("file digest %s interrupted by a crash: %s", name,
                        "it was written; marked sent" if delivered else "not written; its alerts will be resent")
        return len(stuck)

    def send_due_digests(self, now: datetime, report: CycleReport) -> None:
        """Send digests when the configured cron schedule has fired since the last one."""
        if self.digest_due(now):
            self.send_digests(now, report=report)
            self.store.set_meta("last_digest_at", now.isoformat())

    def digest_due(self, now: datetime) -> bool:
        """True when a cron fire time lies between the last digest (or the store's creation) and now."""
        from apscheduler.triggers.cron import CronTrigger

        last = self.store.get_meta("last_digest_at") or self.store.get_meta("created_at")
        if last is None:
            self.store.set_meta("created_at", now.isoformat())
            return False
        since = datetime.fromisoformat(last)
        trigger = CronTrigger.from_crontab(self.cfg.digest.schedule, timezone=self.cfg.digest.timezone)
        fire = trigger.get_next_fire_time(None, since + timedelta(seconds=1))
        return fire is not None and fire <= now

    def next_digest_at(self, now: datetime) -> datetime | None:
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(self.cfg.digest.schedule, timezone=self.cfg.digest.timezone)
        return trigger.get_next_fire_time(None, now)

    def purge_old_text(self, now: datetime, days: int | None = None) -> int:
        """Retention: blank the text of articles fetched more than ``days`` (default ``[storage]
        retention_days``) before ``now``; facts, evidence, alerts and tombstones stay. Returns how
        many articles were purged (0 days: none)."""
        days = self.cfg.storage.retention_days if days is None else days
        if days <= 0:
            return 0
        return self.store.purge_article_text(now - timedelta(days=days), now)


def utcnow() -> datetime:
    return datetime.now(UTC)


def digest_file_name(created: datetime, message_id: str) -> str:
    """The file channel's name for a delivery: its time and a hash of its Message-ID (never reused)."""
    tag = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:10]
    return f"digest-{created.astimezone(UTC):%Y%m%dT%H%M%SZ}-{tag}"


def host_of(url: str | None) -> str:
    return urlsplit(url or "").hostname or ""


__all__ = ["CycleReport", "Service", "utcnow", "host_of"]
