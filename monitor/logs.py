"""Logging setup: plain text or one JSON object per line (``[log] format``), level from ``[log] level``.

JSON lines carry ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``pid``, any
``extra={...}`` fields given to the logging call, and ``exception`` (the traceback) when there is
one, so a log collector (journald, Loki, Elasticsearch) can filter on them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler.executors.default", "trafilatura")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid, extras, exception text."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                               "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                               "pid": record.process or os.getpid()}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Configure the root logger for the CLI and the daemon (idempotent: calling it again, as a
    SIGHUP reload does, replaces our handler instead of adding a second one)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_pledgewatch", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._pledgewatch = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
