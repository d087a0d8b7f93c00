"""The optional Prometheus endpoint: served on loopback only, fed by the daemon's cycles and read
from the store at scrape time; a clear error when it is turned on without prometheus-client."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.store import Store
from tests.test_daemon import (  # noqa: F401
    ROOT,
    _one_alert,
    daemons,
    env,
    rss,
    serve_one_alert_feed,
    wait_for,
    write_config,
)


def scrape(port: int) -> dict[str, float]:
    """GET /metrics on 127.0.0.1:port -> {sample name with labels: value}."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_endpoint_on_loopback_reports_cycles_and_store_numbers(tmp_path):
    pytest.importorskip("prometheus_client", reason="prometheus-client is the optional 'metrics' extra")
    from monitor.metrics import Metrics
    from monitor.service import CycleReport

    db = tmp_path / "pw.db"
    with Store.open(db) as store:
        _one_alert(store, datetime(2025, 7, 3, 8, 0, tzinfo=UTC))
    metrics = Metrics(db, channels=lambda: ["file"])
    metrics.observe_cycle(CycleReport(feeds_polled=2, articles=5, facts=7, alerts_new=1, errors=["x"]), 1.5)
    with pytest.raises(ConfigError, match="only loopback"):
        metrics.serve(0, host="0.0.0.0")  # noqa: S104 - refused, which is the point
    server = metrics.serve(0)
    try:
        values = scrape(server.server_port)
    finally:
        server.shutdown()
    assert values["pledgewatch_cycles_total"] == 1
    assert values["pledgewatch_articles_processed_total"] == 5
    assert values["pledgewatch_cycle_errors_total"] == 1
    assert values["pledgewatch_alerts"] == 1 and values["pledgewatch_articles"] == 1
    assert values['pledgewatch_undelivered_alerts{channel="file"}'] == 1
    assert values["process_resident_memory_bytes"] > 0


def test_daemon_serves_metrics_from_config_after_a_cycle(tmp_path, http_server, daemons):  # noqa: F811
    """`pledgewatch run` with `[metrics] port`: scrape /metrics over loopback after a cycle."""
    pytest.importorskip("prometheus_client", reason="prometheus-client is the optional 'metrics' extra")
    serve_one_alert_feed(http_server)
    db, port = tmp_path / "pw.db", free_port()
    cfg = write_config(tmp_path / "config.toml", db, [http_server.url("/f.xml")], extra=f"[metrics]\nport = {port}")
    d = daemons(cfg, tmp_path / "daemon.log")
    d.wait_log(rf"metrics on http://127\.0\.0\.1:{port}/metrics")
    d.wait_log(r"daemon started")

    def cycled() -> bool:
        return scrape(port).get("pledgewatch_articles_processed_total", 0) >= 1
    wait_for(cycled, 90, "a cycle counted in /metrics", d.log)
    values = scrape(port)
    assert values["pledgewatch_cycles_total"] >= 1
    assert values["pledgewatch_feeds_polled_total"] >= 1
    assert values["pledgewatch_alerts_raised_total"] == 1 and values["pledgewatch_alerts"] == 1
    assert values["pledgewatch_entries_alerted"] == 1 and values["pledgewatch_queue"] == 0
    assert values["pledgewatch_cycle_seconds_count"] >= 1
    assert values["pledgewatch_last_cycle_timestamp_seconds"] > 0
    d.proc.terminate()
    assert d.proc.wait(15) == 0, d.log()
    with pytest.raises(OSError):  # the endpoint went with the daemon
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_metrics_turned_on_without_prometheus_client_is_a_clear_error(tmp_path):
    """Simulates the package missing (sys.modules entry None makes the import fail)."""
    db = tmp_path / "pw.db"
    cfg = write_config(tmp_path / "config.toml", db, [])
    code = ("import sys; sys.modules['prometheus_client'] = None; from monitor.cli import main; "
            f"main(['run', '--config', {str(cfg)!r}, '--metrics-port', '9108'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env=env())
    assert out.returncode == 1, out.stderr
    assert "prometheus-client is not installed" in out.stderr
    assert "pip install 'pledgewatch[metrics]'" in out.stderr
    assert "daemon started" not in out.stderr


def test_metrics_port_is_validated_in_config(tmp_path):
    db = tmp_path / "pw.db"
    assert load_config(write_config(tmp_path / "c.toml", db, [])).metrics.port == 0
    good = write_config(tmp_path / "good.toml", db, [], extra="[metrics]\nport = 9108")
    assert load_config(good).metrics.port == 9108
    bad = write_config(tmp_path / "bad.toml", db, [], extra="[metrics]\nport = 70000")
    with pytest.raises(ConfigError, match=r"\[metrics\] port: expected a TCP port"):
        load_config(bad)
    wrong = write_config(tmp_path / "wrong.toml", db, [], extra='[metrics]\nport = "9108"')
    with pytest.raises(ConfigError, match=r"\[metrics\] port: expected a whole number"):
        load_config(wrong)
