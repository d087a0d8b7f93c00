"""The daemon: APScheduler jobs over the service, signals, one instance per database.

Jobs: ``poll`` (every minute: poll the feeds that are due, process their entries) and
``digest`` (the configured cron schedule and timezone). SIGTERM/SIGINT stop taking work, let the
running job finish its current step and exit 0; SIGHUP reloads the config file, keeping the old
configuration when the new one is invalid.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

POLL_SECONDS = 60


def lock_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".lock")


@dataclass
class InstanceLock:
    """An exclusive flock on ``<db>.lock`` holding the daemon's pid; the kernel drops it on death."""

    path: Path
    _fh: IO[str] | None = None

    def acquire(self) -> None:
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
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


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


class Daemon:
    """Owns the scheduler, the shared extractor and the current configuration."""

    def __init__(self, cfg: Config, *, ignore_schedule: bool = False) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.cfg = cfg
        self.ignore_schedule = ignore_schedule
        self.stop_event = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._extractor: Any = None
        self._lock = InstanceLock(lock_path(cfg.storage.path))

    def extractor(self) -> Any:
        if self._extractor is None:
            from monitor.extract import Extractor
            self._extractor = Extractor.load(self.cfg.extract.model, self.cfg.extract.models_dir)
        return self._extractor

    def poll_job(self) -> None:
        from monitor.service import Service

        if self.stop_event.is_set():
            return
        try:
            with Service(self.cfg, extractor=self.extractor()) as svc:
                report = svc.run_cycle(ignore_schedule=self.ignore_schedule, send_digests=False)
            self.ignore_schedule = False
            if report.feeds_polled or report.articles:
                log.info("cycle: %s", report.summary())
        except Exception:  # noqa: BLE001 - the daemon lives on; the next run tries again
            log.exception("poll cycle failed")

    def digest_job(self) -> None:
        from monitor.service import Service, utcnow

        try:
            with Service(self.cfg, extractor=self._extractor) as svc:
                now = utcnow()
                for line in svc.send_digests(now):
                    log.info("digest %s", line)
                svc.store.set_meta("last_digest_at", now.isoformat())
        except Exception:  # noqa: BLE001
            log.exception("digest failed")

    def schedule_jobs(self) -> None:
        from apscheduler.triggers.cron import CronTrigger

        self.scheduler.add_job(self.poll_job, "interval", seconds=POLL_SECONDS, id="poll", next_run_time=_now(),
                               max_instances=1, coalesce=True, misfire_grace_time=POLL_SECONDS,
                               replace_existing=True)
        trigger = CronTrigger.from_crontab(self.cfg.digest.schedule, timezone=self.cfg.digest.timezone)
        self.scheduler.add_job(self.digest_job, trigger, id="digest", max_instances=1, coalesce=True,
                               misfire_grace_time=3600, replace_existing=True)

    def reload(self) -> None:
        """Re-read the config file; an invalid one is refused and the old one kept."""
        if self.cfg.path is None:
            log.warning("SIGHUP: no config file to reload")
            return
        try:
            new = load_config(self.cfg.path, db=self.cfg.storage.path)
        except ConfigError as e:
            log.error("SIGHUP: new config refused, keeping the old one: %s", e)
            return
        self.cfg = new
        self.schedule_jobs()
        log.info("SIGHUP: config reloaded from %s (%d feeds)", new.path, len(new.feeds))

    def run(self) -> None:
        self._lock.acquire()
        try:
            self._install_signals()
            self.schedule_jobs()
            self.scheduler.start()
            log.info("pledgewatch daemon started: %d feeds, database %s", len(self.cfg.feeds),
                     self.cfg.storage.path)
            while not self.stop_event.wait(1.0):
                pass
            log.info("stopping: waiting for the running job to finish")
            self.scheduler.shutdown(wait=True)
        finally:
            self._lock.release()
        log.info("stopped")

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop_event.set()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            threading.Thread(target=self.reload, name="reload", daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def run_daemon(cfg: Config, *, ignore_schedule: bool = False) -> None:
    """Run until SIGTERM or SIGINT."""
    Daemon(cfg, ignore_schedule=ignore_schedule).run()
