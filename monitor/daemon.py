"""The daemon: APScheduler jobs over the service, signals, one instance per database.

Jobs (APScheduler 3, one background scheduler, every job ``max_instances=1`` and coalesced):

- ``poll`` every minute (with a little jitter): poll the feeds that are due and process their
  entries (``Service.run_cycle(send_digests=False)``); the service fetches through its worker pool
  with the per-host limits. Then immediate channels get the new alerts and failed deliveries due
  for a retry are retried; the cycle's time and outcome are recorded for ``pledgewatch status``.
- ``digest`` on the configured cron schedule and timezone.
- ``retention`` once a day when ``[storage] retention_days`` is set: purge old article text
  (``Service.purge_old_text``).

Metrics: with ``[metrics] port`` (or ``run --metrics-port``) Prometheus metrics are served on
127.0.0.1 (monitor/metrics.py; the ``metrics`` extra).

Signals: SIGTERM and SIGINT stop taking work; the running job is asked to stop between stages
and batches (``should_stop``) and is given ``stop_grace`` seconds to return. Every state it has
reached is committed, so if it does not return in time it is abandoned (like a crash, which the
store is built to survive: the work is redone on the next start) and the process exits 0.
SIGHUP reloads the config file: feeds added or removed, rules and schedules changed, and a poll
right away; an invalid new file is refused with a log line and the old configuration keeps
running.

One instance per database: an exclusive ``flock`` on ``<db>.lock`` (which holds the pid). The
kernel drops the lock when its holder dies, so a lock file left by a killed daemon never blocks.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

POLL_SECONDS = 60
POLL_JITTER_SECONDS = 5
STOP_GRACE_SECONDS = 7.0  # SIGTERM to exit: at most this plus a moment (the issue: 10 s)
RETENTION_CRON = "17 3 * * *"  # daily, UTC


def lock_path(db_path: Path) -> Path:
    """The single-instance lock file of a database: ``<db>.lock``."""
    return Path(str(db_path) + ".lock")


@dataclass
class InstanceLock:
    """An exclusive flock on ``<db>.lock`` holding the daemon's pid; the kernel drops it on death."""

    path: Path
    _fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise MonitorError naming the pid of the daemon that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - held for the daemon's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise MonitorError(f"another pledgewatch daemon (pid {pid}) is running on this database; "
                               f"lock {self.path}") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Drop the lock (idempotent). The file stays; an unlocked file means no daemon."""
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def daemon_pid(db_path: Path) -> int | None:
    """The pid of the daemon running on this database, or None (a stale lock file is ignored)."""
    path = lock_path(db_path)
    if not path.exists():
        return None
    with open(path, "a+", encoding="ascii") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            text = fh.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fh, fcntl.LOCK_UN)
        return None


class _Busy:
    """Counts running jobs so shutdown can wait for them to return."""

    def __init__(self) -> None:
        self._n = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            self._n += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._n -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True when no job is running (waiting up to ``timeout`` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._n == 0, timeout=timeout)


class _LazyExtractor:
    """Stands for the shared extractor; loads it (a few seconds) on first use, so a cycle with
    nothing to extract never waits for spaCy.

    ``Extractor.extract_many`` parses each batch inside ``nlp.memory_zone()``: the strings spaCy
    interns for a batch are freed after it, so resident memory stays flat over months of articles.
    """

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load

    def extract_many(self, items: Any, *args: Any, **kwargs: Any) -> list[list[Any]]:
        real = self._load()
        # Extractor parses each batch inside nlp.memory_zone() itself (zones must not nest)
        return [list(facts) for facts in real.extract_many(items, *args, **kwargs)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


class Daemon:
    """Owns the scheduler, the shared extractor and the current configuration."""

    def __init__(self, cfg: Config, *, ignore_schedule: bool = False, poll_seconds: int = POLL_SECONDS,
                 stop_grace: float = STOP_GRACE_SECONDS, metrics_port: int | None = None) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.cfg = cfg
        self.ignore_schedule = ignore_schedule
        self.poll_seconds = poll_seconds
        self.stop_grace = stop_grace
        self.stop_event = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._extractor: Any = None
        self._extractor_lock = threading.Lock()
        self._lazy_extractor = _LazyExtractor(self.extractor)
        self._lock = InstanceLock(lock_path(cfg.storage.path))
        self._busy = _Busy()
        self._poll_again = threading.Event()
        self._reload_lock = threading.Lock()
        self.metrics_port = metrics_port
        self.metrics: Any = None
        self._metrics_server: Any = None

    # -- jobs ------------------------------------------------------------------------------
    def should_stop(self) -> bool:
        """True once SIGTERM/SIGINT arrived: the service checks it between stages and batches."""
        return self.stop_event.is_set()

    def extractor(self) -> Any:
        """The spaCy extractor, loaded once and shared by every cycle."""
        with self._extractor_lock:
            if self._extractor is None:
                from monitor.extract import Extractor
                self._extractor = Extractor.load(self.cfg.extract.model, self.cfg.extract.models_dir)
            return self._extractor

    def poll_job(self) -> None:
        """One or more cycles: poll due feeds, process entries; again at once if a reload asked."""
        with self._busy:
            while not self.should_stop():
                self._poll_again.clear()
                self._one_cycle()
                if not self._poll_again.is_set():
                    return

    def _one_cycle(self) -> None:
        from monitor.service import Service, utcnow

        cfg = self.cfg
        t0 = time.monotonic()
        started = utcnow()
        try:
            with Service(cfg, extractor=self._lazy_extractor) as svc:  # type: ignore[arg-type]
                report = svc.run_cycle(started, ignore_schedule=self.ignore_schedule, send_digests=False,
                                       should_stop=self.should_stop)
                if not self.should_stop():  # immediate channels and failed deliveries now due
                    for line in svc.send_immediate_and_retries(utcnow(), report):
                        log.info("delivery %s", line)
                record_last_cycle(svc.store, started, utcnow(), report, stopped_early=self.should_stop(),
                                  mode="daemon")
            self.ignore_schedule = False
            if self.metrics is not None:
                self.metrics.observe_cycle(report, time.monotonic() - t0)
            if report.feeds_polled or report.articles:
                log.info("cycle: %s", report.summary())
        except Exception as e:  # noqa: BLE001 - the daemon lives on; the next run tries again
            log.exception("poll cycle failed (database %s)", cfg.storage.path)
            if self.metrics is not None:
                self.metrics.observe_failure()
            _record_failed_cycle(cfg, started, e)

    def digest_job(self) -> None:
        """Send each delivery channel the alerts it has not had."""
        from monitor.service import Service, utcnow

        with self._busy:
            if self.should_stop():
                return
            try:
                with Service(self.cfg, extractor=self._extractor) as svc:
                    now = utcnow()
                    for line in svc.send_digests(now):
                        log.info("digest %s", line)
                    svc.store.set_meta("last_digest_at", now.isoformat())
            except Exception:  # noqa: BLE001
                log.exception("digest failed (database %s)", self.cfg.storage.path)

    def retention_job(self) -> None:
        """Blank the text of articles older than ``[storage] retention_days`` (facts stay)."""
        from monitor.service import Service, utcnow

        days = self.cfg.storage.retention_days
        if days <= 0 or self.should_stop():
            return
        with self._busy:
            try:
                with Service(self.cfg, extractor=self._extractor) as svc:
                    purged = svc.purge_old_text(utcnow(), days)
                if purged:
                    log.info("retention: purged the text of %d articles older than %d days", purged, days)
            except Exception:  # noqa: BLE001
                log.exception("retention failed (database %s)", self.cfg.storage.path)

    # -- scheduling ------------------------------------------------------------------------
    def schedule_jobs(self) -> None:
        """Create the poll job (first run now) and the jobs that follow the configuration."""
        self.scheduler.add_job(self.poll_job, "interval", seconds=self.poll_seconds, jitter=POLL_JITTER_SECONDS,
                               id="poll", next_run_time=_now(), max_instances=1, coalesce=True,
                               misfire_grace_time=self.poll_seconds, replace_existing=True)
        self.schedule_config_jobs(self.cfg)

    def schedule_config_jobs(self, cfg: Config) -> None:
        """(Re)create the digest and retention jobs for ``cfg``. Raises ConfigError for a digest
        schedule APScheduler refuses, before anything is changed."""
        digest_trigger = digest_trigger_for(cfg)
        self.scheduler.add_job(self.digest_job, digest_trigger, id="digest", max_instances=1, coalesce=True,
                               misfire_grace_time=3600, replace_existing=True)
        if cfg.storage.retention_days > 0:
            from apscheduler.triggers.cron import CronTrigger

            self.scheduler.add_job(self.retention_job, CronTrigger.from_crontab(RETENTION_CRON, timezone="UTC"),
                                   id="retention", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600,
                                   replace_existing=True)
        elif self.scheduler.get_job("retention") is not None:
            self.scheduler.remove_job("retention")

    def reload(self) -> bool:
        """Re-read the config file; an invalid one is refused (logged) and the old one kept.

        Returns True when the new configuration is in force.
        """
        with self._reload_lock:
            if self.cfg.path is None:
                log.warning("SIGHUP: no config file to reload")
                return False
            try:
                new = load_config(self.cfg.path, db=self.cfg.storage.path)
                digest_trigger_for(new)
            except ConfigError as e:
                log.error("SIGHUP: new config refused, keeping the old one: %s", e)
                return False
            old = self.cfg
            self.cfg = new
            if (new.log.level, new.log.format) != (old.log.level, old.log.format):
                from monitor.logs import setup_logging
                setup_logging(new.log.level, new.log.format)
            self.schedule_config_jobs(new)
            _log_setting_changes(old, new)
            added, removed = _feed_changes(old, new)
            log.info("SIGHUP: config reloaded from %s (%d feeds; %d added, %d removed)", new.path,
                     len(new.feeds), len(added), len(removed))
            self.poll_soon()
            return True

    def poll_soon(self) -> None:
        """Run the poll job now, or once more right after the one running."""
        self._poll_again.set()
        job = self.scheduler.get_job("poll")
        if job is not None:
            job.modify(next_run_time=_now())

    # -- life ------------------------------------------------------------------------------
    def run(self) -> None:
        """Take the lock, run the jobs until SIGTERM or SIGINT, then stop within ``stop_grace``."""
        self._lock.acquire()
        try:
            if self.metrics_port is not None:
                from monitor.metrics import Metrics

                self.metrics = Metrics(self.cfg.storage.path, channels=lambda: delivery_channels(self.cfg))
                self._metrics_server = self.metrics.serve(self.metrics_port)
            self._install_signals()
            self.schedule_jobs()
            self.scheduler.start()
            log.info("pledgewatch daemon started (pid %d): %d feeds, database %s", os.getpid(),
                     len(self.cfg.feeds), self.cfg.storage.path)
            while not self.stop_event.wait(1.0):
                pass
            log.info("stopping: no new work; waiting up to %.0f s for the running job", self.stop_grace)
            self.scheduler.shutdown(wait=False)
            if not self._busy.wait_idle(self.stop_grace):
                self._abandon()
        finally:
            if self._metrics_server is not None:
                self._metrics_server.shutdown()
            self._lock.release()
        log.info("stopped")

    def _abandon(self) -> None:
        """Exit now although a job is still running: its committed states make this safe."""
        log.warning("stopping: the running job did not return within %.0f s; abandoning it "
                    "(entries stay in their last committed state and are redone on the next start)",
                    self.stop_grace)
        self._lock.release()
        logging.shutdown()
        os._exit(0)

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop_event.set()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            threading.Thread(target=self.reload, name="reload", daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)


def digest_trigger_for(cfg: Config) -> Any:
    """The APScheduler cron trigger of ``[digest] schedule``; ConfigError when it is refused."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(cfg.digest.schedule, timezone=cfg.digest.timezone)
    except (ValueError, LookupError) as e:
        where = cfg.path or "config"
        raise ConfigError(f"{where}: [digest] schedule: {cfg.digest.schedule!r} is not a valid cron "
                          f"expression: {e}") from None


def delivery_channels(cfg: Config) -> list[str]:
    """The digest channels ``cfg`` turns on (as ``Service.channels``)."""
    return [name for name, on in (("smtp", cfg.digest.smtp.enabled), ("file", cfg.digest.file.path is not None))
            if on]


def _feed_changes(old: Config, new: Config) -> tuple[list[str], list[str]]:
    before = {f.url for f in old.feeds}
    after = {f.url for f in new.feeds}
    for url in sorted(after - before):
        log.info("SIGHUP: feed added: %s", url)
    for url in sorted(before - after):
        log.info("SIGHUP: feed removed: %s", url)
    return sorted(after - before), sorted(before - after)


# -- the last cycle, for `pledgewatch status` ------------------------------------------------------

LAST_CYCLE_KEY = "daemon_last_cycle"


def record_last_cycle(store: Any, started: datetime, finished: datetime, report: Any, *,
                      stopped_early: bool = False, mode: str = "daemon") -> None:
    """Keep when the last cycle ran and how it went (a ``meta`` value read by ``status``)."""
    outcome = ("stopped early" if stopped_early else f"{len(report.errors)} errors" if report.errors else "ok")
    store.set_meta(LAST_CYCLE_KEY, json.dumps({
        "started": started.isoformat(), "finished": finished.isoformat(), "mode": mode, "outcome": outcome,
        "summary": report.summary(), "errors": len(report.errors), "stopped_early": stopped_early}))


def _record_failed_cycle(cfg: Config, started: datetime, error: BaseException) -> None:
    """Best effort: note a cycle that raised (the database itself may be what failed)."""
    from monitor.service import utcnow
    from monitor.store import Store

    try:
        with Store.open(cfg.storage.path) as store:
            store.set_meta(LAST_CYCLE_KEY, json.dumps({
                "started": started.isoformat(), "finished": utcnow().isoformat(), "mode": "daemon",
                "outcome": f"failed: {error}"[:300], "summary": "", "errors": 1, "stopped_early": False}))
    except Exception:  # noqa: BLE001 - already logged above; status will show the previous cycle
        log.debug("cannot record the failed cycle", exc_info=True)


def last_cycle(store: Any) -> dict[str, Any] | None:
    """The last cycle recorded on this database (daemon or ``run --once``), or None."""
    raw = store.get_meta(LAST_CYCLE_KEY)
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def describe_last_cycle(info: dict[str, Any] | None) -> str:
    """One line for ``status``: when the last cycle finished, how long it took, its outcome."""
    if not info:
        return "never"
    try:
        started = datetime.fromisoformat(info["started"])
        finished = datetime.fromisoformat(info["finished"])
    except (KeyError, TypeError, ValueError):
        return "unknown"
    outcome = info.get("outcome") or ("stopped early" if info.get("stopped_early") else
                                      f"{info.get('errors', 0)} errors" if info.get("errors") else "ok")
    took = (finished - started).total_seconds()
    line = f"{finished:%Y-%m-%d %H:%M:%S} UTC ({info.get('mode', 'daemon')}, {took:.0f} s): {outcome}"
    return f"{line}; {info['summary']}" if info.get("summary") else line


def _log_setting_changes(old: Config, new: Config) -> None:
    """Log each section that a reload changed (alert rules, digest, schedule, fetch limits...)."""
    for name in ("alerts", "digest", "schedule", "fetch", "storage", "dedup", "log", "extract", "metrics"):
        before, after = getattr(old, name, None), getattr(new, name, None)
        if before != after:
            # [digest] may hold channel URLs with tokens: name the keys that changed, not the values
            log.info("SIGHUP: [%s] changed: %s", name, _diff(before, after, values=name != "digest"))
    if getattr(old, "metrics", None) != getattr(new, "metrics", None):
        log.warning("SIGHUP: [metrics] port takes effect at the next start")
    if old.extract != new.extract:
        log.warning("SIGHUP: [extract] takes effect at the next start (the model stays loaded)")


def _diff(before: Any, after: Any, *, values: bool = True) -> str:
    from dataclasses import fields, is_dataclass

    if not (is_dataclass(before) and is_dataclass(after)):
        return f"{before!r} -> {after!r}" if values else "changed"
    changed = [f.name for f in fields(before) if getattr(before, f.name) != getattr(after, f.name)]
    if not values:
        return ", ".join(changed)
    return "; ".join(f"{n} {getattr(before, n)!r} -> {getattr(after, n)!r}" for n in changed)


def _now() -> datetime:
    return datetime.now(UTC)


def run_daemon(cfg: Config, *, ignore_schedule: bool = False, metrics_port: int | None = None) -> None:
    """Run until SIGTERM or SIGINT (the CLI's ``run``). Raises MonitorError when another daemon
    holds the database, ConfigError for a digest schedule APScheduler refuses. ``metrics_port``
    serves Prometheus metrics on 127.0.0.1 (needs the ``metrics`` extra)."""
    digest_trigger_for(cfg)
    if metrics_port is not None:
        from monitor.metrics import require_client

        require_client()
    Daemon(cfg, ignore_schedule=ignore_schedule, metrics_port=metrics_port).run()


def run_once(cfg: Config, *, ignore_schedule: bool = False,
             should_stop: Callable[[], bool] | None = None) -> Any:
    """One full cycle under the instance lock (so it never runs beside a daemon on the same
    database); returns the service's CycleReport."""
    from monitor.service import Service, utcnow

    with InstanceLock(lock_path(cfg.storage.path)), Service(cfg) as svc:
        started = utcnow()
        report = svc.run_cycle(started, ignore_schedule=ignore_schedule, should_stop=should_stop)
        record_last_cycle(svc.store, started, utcnow(), report,
                          stopped_early=bool(should_stop and should_stop()), mode="once")
        return report


__all__ = ["Daemon", "InstanceLock", "daemon_pid", "describe_last_cycle", "digest_trigger_for", "last_cycle",
           "lock_path", "record_last_cycle", "run_daemon", "run_once"]
