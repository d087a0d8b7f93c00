"""When to poll a feed next: a pure decision from the facts of the last poll.

``next_check(now, facts, limits)`` after a successful poll (200 or 304) and
``next_check_after_error(now, facts, limits)`` after a failed one return a ``Decision``: the time
and a short reason (shown in logs). Nothing here reads the clock or the config; ``now``, the
facts and the limits are passed in, and jitter comes from a number in [0, 1) the caller draws.

After a success, in order:

1. **Base interval**: the feed's own ``interval`` from the config when set (the user chose it:
   not adapted); otherwise the median spacing of the feed's recent entry dates (a feed that
   publishes hourly is polled about hourly, one that publishes weekly about weekly); otherwise
   ``[schedule] poll_interval``.
2. **Jitter**: +-10 %, so feeds added together do not stay in lock-step.
3. **Clamp** to ``[schedule] min_interval`` .. ``max_interval``.
4. **Server floors**: never earlier than the feed's RSS ``<ttl>``, ``Cache-Control: max-age``
   (less ``Age``) or ``Expires`` allow, yet at most ``max_interval`` (the user's "poll at least
   this often" wins over a cache lifetime of a year). A ``Retry-After`` is a demand, not a hint:
   it wins over everything.

After an error: the base interval doubled per consecutive error (1x, 2x, 4x, ...), capped at
``[schedule] max_backoff`` (default 24 h), jittered, never earlier than a Retry-After. The feed
keeps being tried. A 410 Gone is reported as ``gone``: the store stops polling the feed for good
(``--ignore-schedule`` included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from statistics import median

from monitor.config import ScheduleConfig

__all__ = ["Decision", "ErrorFacts", "Limits", "PollFacts", "cache_lifetime", "limits_of", "next_check",
           "next_check_after_error", "publish_spacing"]

JITTER = 0.10  # fraction of the interval, either way
RECENT_ENTRIES = 10  # dated entries used to estimate how often a feed publishes
MIN_SPACING = timedelta(minutes=1)  # entries closer than this are a batch, not a rhythm


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured bounds, in minutes (``[schedule]``)."""

    poll_interval: int = 60
    min_interval: int = 15
    max_interval: int = 1440
    max_backoff: int = 1440


def limits_of(cfg: ScheduleConfig) -> Limits:
    """The ``[schedule]`` section as ``Limits``."""
    return Limits(poll_interval=cfg.poll_interval, min_interval=cfg.min_interval,
                  max_interval=cfg.max_interval, max_backoff=cfg.max_backoff)


@dataclass(frozen=True, slots=True)
class PollFacts:
    """What a successful poll told us about the feed."""

    interval: int | None = None  # the feed's configured interval (minutes), None = adapt
    entry_dates: tuple[datetime, ...] = ()  # publication dates of the entries it carries
    ttl: int | None = None  # RSS <ttl>, minutes
    headers: Mapping[str, str] | None = None  # response headers, lower-case names
    retry_after: float | None = None  # seconds


@dataclass(frozen=True, slots=True)
class ErrorFacts:
    """What a failed poll told us."""

    interval: int | None = None  # the feed's configured interval (minutes)
    errors: int = 1  # consecutive errors, this one included
    status: int | None = None  # HTTP status, None for network errors
    retry_after: float | None = None  # seconds


@dataclass(frozen=True, slots=True)
class Decision:
    """The next check time and why."""

    when: datetime
    reason: str
    gone: bool = False


def next_check(now: datetime, facts: PollFacts, limits: Limits, *, rand: float = 0.5) -> Decision:
    """The next check after a successful poll (see the module docstring for the rules)."""
    base, why = _base_interval(facts.interval, facts.entry_dates, limits, now)
    interval = _clamp(_jitter(base, rand), limits)
    if interval != _jitter(base, rand):
        why += ", clamped to [schedule] limits"
    when = now + interval
    floor, floor_why = _server_floor(now, facts, limits)
    if floor is not None and floor > when:
        when, why = floor, floor_why
    if facts.retry_after and now + timedelta(seconds=facts.retry_after) > when:
        when, why = now + timedelta(seconds=facts.retry_after), "Retry-After"
    return Decision(when, why)


def next_check_after_error(now: datetime, facts: ErrorFacts, limits: Limits, *, rand: float = 0.5) -> Decision:
    """The next check after a failed poll: exponential back-off to ``max_backoff``; 410 is gone."""
    if facts.status == 410:
        return Decision(now + timedelta(minutes=limits.max_backoff), "410 Gone: not polled again", gone=True)
    base = timedelta(minutes=facts.interval or limits.poll_interval)
    base = max(timedelta(minutes=limits.min_interval), base)
    cap = timedelta(minutes=max(limits.max_backoff, limits.min_interval))
    backoff = min(base * (2 ** min(max(facts.errors, 1) - 1, 20)), cap)
    when = now + min(_jitter(backoff, rand), cap)
    why = f"error {facts.errors}: back-off {_fmt(backoff)}" + (" (cap)" if backoff == cap else "")
    if facts.retry_after and now + timedelta(seconds=facts.retry_after) > when:
        when, why = now + timedelta(seconds=facts.retry_after), "Retry-After"
    return Decision(when, why)


# -- the parts ---------------------------------------------------------------------------------

def _base_interval(configured: int | None, dates: Iterable[datetime], limits: Limits,
                   now: datetime) -> tuple[timedelta, str]:
    if configured:
        return timedelta(minutes=configured), "feed interval"
    spacing = publish_spacing(dates, now)
    if spacing is not None:
        return spacing, f"publishes every {_fmt(spacing)}"
    return timedelta(minutes=limits.poll_interval), "poll_interval"


def publish_spacing(dates: Iterable[datetime], now: datetime) -> timedelta | None:
    """The median gap between the most recent entry dates (None with fewer than 3 usable dates).

    Dates in the future are ignored; gaps under a minute (a batch published at once) too.
    """
    usable = sorted({d for d in dates if d.tzinfo is not None and d <= now}, reverse=True)[:RECENT_ENTRIES]
    gaps = [a - b for a, b in zip(usable, usable[1:], strict=False) if a - b >= MIN_SPACING]
    if len(gaps) < 2:
        return None
    return timedelta(seconds=median(g.total_seconds() for g in gaps))


def cache_lifetime(headers: Mapping[str, str] | None, now: datetime) -> tuple[float, str] | None:
    """Seconds the response may be cached (``Cache-Control: max-age`` less ``Age``, else
    ``Expires``), with the header that said so; None when neither says anything usable."""
    if not headers:
        return None
    hdrs = {k.lower(): v for k, v in headers.items()}
    cc = [d.strip().lower() for d in hdrs.get("cache-control", "").split(",")]
    if "no-cache" in cc or "no-store" in cc:
        return None
    for d in cc:
        name, _, value = d.partition("=")
        if name.strip() == "max-age" and value.strip().strip('"').isdigit():
            age = hdrs.get("age", "0").strip()
            return max(0.0, float(value.strip().strip('"')) - (float(age) if age.isdigit() else 0.0)), "max-age"
    expires = hdrs.get("expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return None  # "0" or garbage: already expired
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds()), "Expires"
    return None


def _server_floor(now: datetime, facts: PollFacts, limits: Limits) -> tuple[datetime | None, str]:
    """The earliest time the server's hints allow (TTL, max-age, Expires), at most max_interval away."""
    floors: list[tuple[float, str]] = []
    if facts.ttl and facts.ttl > 0:
        floors.append((facts.ttl * 60.0, "RSS ttl"))
    lifetime = cache_lifetime(facts.headers, now)
    if lifetime is not None:
        floors.append(lifetime)
    if not floors:
        return None, ""
    seconds, why = max(floors)
    cap = limits.max_interval * 60.0
    if seconds > cap:
        return now + timedelta(seconds=cap), f"{why} (limited to max_interval)"
    return now + timedelta(seconds=seconds), why


def _jitter(interval: timedelta, rand: float) -> timedelta:
    return interval * (1 + JITTER * (2 * min(max(rand, 0.0), 1.0) - 1))


def _clamp(interval: timedelta, limits: Limits) -> timedelta:
    low, high = timedelta(minutes=limits.min_interval), timedelta(minutes=limits.max_interval)
    return max(low, min(high, interval))


def _fmt(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.0f} min"
