"""Structured logs: text or one JSON object per line, level from `[log]` in the config."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from monitor.logs import setup_logging
from tests.test_daemon import pledgewatch, serve_empty_feed, write_config


@pytest.fixture
def root_logger():
    """Give the test our handler, then restore the root logger as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_extras_and_exception(root_logger):
    buf = io.StringIO()
    setup_logging("info", "json", stream=buf)
    log = logging.getLogger("monitor.test")
    log.debug("not shown at INFO")
    log.info("feed %s: %d entries", "http://127.0.0.1/f.xml", 3, extra={"feed": "http://127.0.0.1/f.xml"})
    try:
        raise ValueError("boom \"quoted\"\nsecond line")
    except ValueError:
        log.exception("cycle failed")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2, lines  # one line per record, even with a multi-line traceback
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "monitor.test"
    assert first["message"] == "feed http://127.0.0.1/f.xml: 3 entries"
    assert first["feed"] == "http://127.0.0.1/f.xml" and isinstance(first["pid"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", first["time"])
    assert second["level"] == "ERROR" and second["message"] == "cycle failed"
    assert "ValueError: boom \"quoted\"\nsecond line" in second["exception"]


def test_level_filters_and_setup_is_idempotent(root_logger):
    buf = io.StringIO()
    setup_logging("INFO", "text", stream=io.StringIO())
    setup_logging("WARNING", "text", stream=buf)  # a reload: replaces our handler, never adds one
    ours = [h for h in root_logger.handlers if getattr(h, "_pledgewatch", False)]
    assert len(ours) == 1
    logging.getLogger("monitor.test").info("hidden")
    logging.getLogger("monitor.test").warning("shown")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING monitor.test: shown\n", buf.getvalue())
    assert logging.getLogger("httpx").level == logging.WARNING  # noisy libraries stay quiet


def test_run_once_logs_json_at_the_configured_level(tmp_path, http_server):
    db = tmp_path / "pw.db"
    feed = serve_empty_feed(http_server, "/a.xml")
    cfg = write_config(tmp_path / "config.toml", db, [feed])
    cfg.write_text(cfg.read_text().replace('[log]\nlevel = "INFO"', '[log]\nlevel = "INFO"\nformat = "json"'))
    out = pledgewatch("run", "--once", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stderr.splitlines() if line.strip()]  # every line is JSON
    assert any(r["logger"] == "monitor.service" and r["level"] == "INFO"
               and r["message"] == f"feed {feed}: 0 entries, 0 new" for r in records), records
    assert "polled 1 feeds" in out.stdout  # the command's own output stays plain

    cfg.write_text(cfg.read_text().replace('level = "INFO"', 'level = "WARNING"'))
    quiet = pledgewatch("run", "--once", "--ignore-schedule", "--config", str(cfg))
    assert quiet.returncode == 0, quiet.stderr
    assert not [r for r in (json.loads(line) for line in quiet.stderr.splitlines() if line.strip())
                if r["level"] in ("DEBUG", "INFO")]


def test_a_bad_log_setting_names_the_key(tmp_path):
    cfg = write_config(tmp_path / "config.toml", tmp_path / "pw.db", [])
    cfg.write_text(cfg.read_text().replace('[log]\nlevel = "INFO"', '[log]\nlevel = "INFO"\nformat = "xml"'))
    out = pledgewatch("status", "--config", str(cfg))
    assert out.returncode == 2
    assert "[log] format: expected 'text' or 'json', got 'xml'" in out.stderr
