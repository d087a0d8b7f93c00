"""One exception tree for Pledgewatch.

Library errors (httpx, feedparser, sqlite3, spaCy, smtplib) are converted into these where they
enter our code, with the feed, article or URL they concern in the message.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error Pledgewatch raises on purpose."""


class ConfigError(MonitorError):
    """The configuration file is missing, unreadable or invalid (message names file and key)."""


class FetchError(MonitorError):
    """An HTTP fetch failed: network error, bad status, body too large, refused address."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after


class ParseError(MonitorError):
    """Feed or page content could not be parsed."""


class ExtractionError(MonitorError):
    """The extraction stage failed on a text (model missing, bad input line)."""


class StorageError(MonitorError):
    """The SQLite store could not be opened, migrated, read or written."""


class DeliveryError(MonitorError):
    """A digest or alert could not be delivered on a channel."""
