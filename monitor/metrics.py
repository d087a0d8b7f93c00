"""Optional Prometheus metrics for the daemon, served on loopback (extra ``metrics``:
``pip install 'pledgewatch[metrics]'``, which brings prometheus-client).

Counters and a histogram are fed by the daemon after each cycle; the store's numbers (feeds,
failing feeds, queue depth, entries by state, alerts, undelivered alerts per channel, stuck
deliveries) are read from the database at scrape time, so they are never stale. Process metrics
(resident memory, CPU) come from prometheus-client's process collector.

    metrics = Metrics(db_path)
    server = metrics.serve(9108)          # http://127.0.0.1:9108/metrics
    metrics.observe_cycle(report, seconds)
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

PREFIX = "pledgewatch"
STORE_GAUGES = {
    "feeds_active": "feeds being polled",
    "feeds_failing": "active feeds whose last poll failed",
    "feeds_gone": "feeds that answered 410 Gone",
    "queue": "entries waiting to be processed (new, fetched, extracted)",
    "entries_failed": "entries waiting for a retry after a failure",
    "entries_alerted": "entries fully processed",
    "articles": "articles stored",
    "facts": "facts stored",
    "alerts": "alerts raised",
    "deliveries_stuck": "deliveries interrupted between send and record",
    "delivery_items_failed": "alert deliveries that failed and wait for a retry",
}


def require_client() -> Any:
    """The prometheus_client module, or MonitorError saying how to install it."""
    try:
        import prometheus_client
    except ImportError:
        raise MonitorError("metrics are turned on ([metrics] port or --metrics-port) but prometheus-client "
                           "is not installed: pip install 'pledgewatch[metrics]' (or set [metrics] port = 0)"
                           ) from None
    return prometheus_client


class _StoreCollector:
    """Reads ``Store.status()`` at each scrape (a short read transaction, read-only)."""

    def __init__(self, db_path: Path, channels: Callable[[], Sequence[str]]) -> None:
        self.db_path = db_path
        self.channels = channels

    def describe(self) -> list[Any]:
        return []  # dynamic (undelivered per channel): no description up front

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from monitor.store import Store

        try:
            with Store.open_readonly(self.db_path) as store:
                status = store.status(self.channels())
        except MonitorError as e:
            log.warning("metrics: cannot read %s: %s", self.db_path, e)
            return
        for key, help_text in STORE_GAUGES.items():
            yield GaugeMetricFamily(f"{PREFIX}_{key}", help_text, value=float(status.get(key) or 0))
        undelivered = GaugeMetricFamily(f"{PREFIX}_undelivered_alerts", "alerts not yet sent, per channel",
                                        labels=["channel"])
        for key, value in status.items():
            if key.startswith("undelivered_"):
                undelivered.add_metric([key.removeprefix("undelivered_")], float(value or 0))
        yield undelivered


class Metrics:
    """The daemon's metrics in their own registry (nothing global)."""

    def __init__(self, db_path: Path, channels: Callable[[], Sequence[str]] = lambda: ()) -> None:
        """``channels`` gives the delivery channels in force (for the undelivered counts)."""
        pc = require_client()
        self.registry = pc.CollectorRegistry()
        self.cycles = pc.Counter(f"{PREFIX}_cycles", "poll cycles run", registry=self.registry)
        self.cycle_errors = pc.Counter(f"{PREFIX}_cycle_errors", "errors reported by cycles (feeds, articles)",
                                       registry=self.registry)
        self.cycle_failures = pc.Counter(f"{PREFIX}_cycle_failures", "cycles that raised", registry=self.registry)
        self.articles = pc.Counter(f"{PREFIX}_articles_processed", "articles fetched, extracted and stored",
                                   registry=self.registry)
        self.facts = pc.Counter(f"{PREFIX}_facts_extracted", "facts extracted", registry=self.registry)
        self.alerts_new = pc.Counter(f"{PREFIX}_alerts_raised", "new alerts", registry=self.registry)
        self.feeds_polled = pc.Counter(f"{PREFIX}_feeds_polled", "feed polls", registry=self.registry)
        self.duration = pc.Histogram(f"{PREFIX}_cycle_seconds", "duration of poll cycles", registry=self.registry,
                                     buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, float("inf")))
        self.last_cycle = pc.Gauge(f"{PREFIX}_last_cycle_timestamp_seconds", "end of the last poll cycle",
                                   registry=self.registry)
        self.started = pc.Gauge(f"{PREFIX}_start_timestamp_seconds", "when the daemon started",
                                registry=self.registry)
        self.started.set(time.time())
        pc.ProcessCollector(registry=self.registry)
        self.registry.register(_StoreCollector(db_path, channels))

    def observe_cycle(self, report: Any, seconds: float) -> None:
        """Count one finished cycle (a ``CycleReport``)."""
        self.cycles.inc()
        self.cycle_errors.inc(len(report.errors))
        self.articles.inc(report.articles)
        self.facts.inc(report.facts)
        self.alerts_new.inc(report.alerts_new)
        self.feeds_polled.inc(report.feeds_polled)
        self.duration.observe(seconds)
        self.last_cycle.set(time.time())

    def observe_failure(self) -> None:
        """Count a cycle that raised."""
        self.cycle_failures.inc()

    def render(self) -> bytes:
        """The exposition text, as a scrape would get it."""
        return bytes(require_client().generate_latest(self.registry))

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve /metrics on ``host:port`` (loopback only; port 0 picks one). Returns the server,
        whose ``server_port`` is the port and whose ``shutdown()`` stops it."""
        if not ipaddress.ip_address(host).is_loopback:
            raise ConfigError(f"metrics: refusing to listen on {host}: only loopback addresses are allowed")
        pc = require_client()
        try:
            server, _thread = pc.start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            raise MonitorError(f"metrics: cannot listen on {host}:{port}: {e}") from e
        log.info("metrics on http://%s:%d/metrics", host, server.server_port)
        return server


__all__ = ["Metrics", "require_client"]
