"""monitor.schedule: the next-check decision, table-driven (pure: no clock, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.schedule import (
    ErrorFacts,
    Limits,
    PollFacts,
    cache_lifetime,
    next_check,
    next_check_after_error,
    publish_spacing,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(poll_interval=60, min_interval=15, max_interval=1440, max_backoff=1440)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def every(gap: timedelta, n: int = 8, start: datetime = NOW) -> tuple[datetime, ...]:
    return tuple(start - gap * i for i in range(n))


# (case, facts, expected delay from NOW, reason contains) -- rand=0.5 means no jitter
SUCCESS_CASES = [
    ("default interval", PollFacts(), 60 * M, "poll_interval"),
    ("feed's own interval", PollFacts(interval=180), 180 * M, "feed interval"),
    ("own interval is not adapted", PollFacts(interval=180, entry_dates=every(20 * M)), 180 * M, "feed interval"),
    ("publishes every 3 h", PollFacts(entry_dates=every(3 * H)), 3 * H, "publishes every"),
    ("publishes every 5 min: clamped to min", PollFacts(entry_dates=every(5 * M)), 15 * M, "clamped"),
    ("publishes weekly: clamped to max", PollFacts(entry_dates=every(7 * 24 * H)), 1440 * M, "clamped"),
    ("two dates are not a rhythm", PollFacts(entry_dates=every(3 * H, n=2)), 60 * M, "poll_interval"),
    ("a batch published at once is ignored", PollFacts(entry_dates=(NOW,) * 8), 60 * M, "poll_interval"),
    ("RSS ttl later than interval", PollFacts(ttl=120), 120 * M, "ttl"),
    ("RSS ttl sooner than interval: no effect", PollFacts(ttl=5), 60 * M, "poll_interval"),
    ("max-age", PollFacts(headers={"cache-control": "public, max-age=10800"}), 3 * H, "max-age"),
    ("max-age less Age", PollFacts(headers={"cache-control": "max-age=10800", "age": "3600"}), 2 * H, "max-age"),
    ("no-cache ignores max-age", PollFacts(headers={"cache-control": "no-cache, max-age=10800"}), 60 * M,
     "poll_interval"),
    ("Expires", PollFacts(headers={"expires": "Wed, 01 May 2024 16:00:00 GMT"}), 4 * H, "Expires"),
    ("Expires in the past", PollFacts(headers={"expires": "Wed, 01 May 2024 10:00:00 GMT"}), 60 * M,
     "poll_interval"),
    ("Expires: 0", PollFacts(headers={"expires": "0"}), 60 * M, "poll_interval"),
    ("the longest server hint wins", PollFacts(ttl=90, headers={"cache-control": "max-age=7200"}), 2 * H,
     "max-age"),
    ("a year's max-age is limited to max_interval", PollFacts(headers={"cache-control": "max-age=31536000"}),
     1440 * M, "limited to max_interval"),
    ("Retry-After wins over max_interval", PollFacts(retry_after=3 * 86400.0), 72 * H, "Retry-After"),
]


@pytest.mark.parametrize(("case", "facts", "delay", "reason"), SUCCESS_CASES, ids=[c[0] for c in SUCCESS_CASES])
def test_next_check_after_success(case, facts, delay, reason):
    decision = next_check(NOW, facts, LIMITS, rand=0.5)
    assert decision.when - NOW == delay
    assert reason in decision.reason
    assert not decision.gone


# (case, facts, expected delay, gone)
ERROR_CASES = [
    ("first error: one interval", ErrorFacts(errors=1), 60 * M, False),
    ("second error: doubled", ErrorFacts(errors=2), 120 * M, False),
    ("fifth error: 16x", ErrorFacts(errors=5), 16 * H, False),
    ("tenth error: capped at max_backoff", ErrorFacts(errors=10), 24 * H, False),
    ("a thousand errors: still capped, still tried", ErrorFacts(errors=1000), 24 * H, False),
    ("own interval doubles too", ErrorFacts(interval=30, errors=3), 120 * M, False),
    ("429 Retry-After beyond back-off", ErrorFacts(errors=1, status=429, retry_after=7200.0), 2 * H, False),
    ("503 Retry-After shorter than back-off", ErrorFacts(errors=3, status=503, retry_after=60.0), 4 * H, False),
    ("410 Gone", ErrorFacts(errors=1, status=410), 24 * H, True),
]


@pytest.mark.parametrize(("case", "facts", "delay", "gone"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_next_check_after_error(case, facts, delay, gone):
    decision = next_check_after_error(NOW, facts, LIMITS, rand=0.5)
    assert decision.when - NOW == delay
    assert decision.gone is gone


def test_configured_max_backoff_caps_errors():
    limits = Limits(poll_interval=60, min_interval=15, max_interval=1440, max_backoff=180)
    assert next_check_after_error(NOW, ErrorFacts(errors=8), limits).when - NOW == 3 * H


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.75, 0.999])
def test_jitter_is_within_ten_percent_and_never_beyond_the_limits(rand):
    plain = next_check(NOW, PollFacts(), LIMITS, rand=0.5).when - NOW
    jittered = next_check(NOW, PollFacts(), LIMITS, rand=rand).when - NOW
    assert abs(jittered - plain) <= plain * 0.1
    assert (jittered != plain) is (rand != 0.5)
    low = next_check(NOW, PollFacts(entry_dates=every(M * 2)), LIMITS, rand=rand).when - NOW
    assert low >= 15 * M  # jitter never goes under min_interval
    capped = next_check_after_error(NOW, ErrorFacts(errors=50), LIMITS, rand=rand).when - NOW
    assert capped <= 24 * H  # nor over the back-off cap


def test_publish_spacing_uses_recent_dates_and_ignores_future_ones():
    old = every(24 * H, start=NOW - 30 * 24 * H)
    recent = every(2 * H, n=10)
    assert publish_spacing(recent + old, NOW) == 2 * H  # only the 10 newest count
    assert publish_spacing((NOW + H, NOW + 2 * H, NOW + 3 * H), NOW) is None
    naive = tuple(d.replace(tzinfo=None) for d in recent)
    assert publish_spacing(naive, NOW) is None


def test_cache_lifetime_forms():
    assert cache_lifetime({"Cache-Control": 'max-age="600"'}, NOW) == (600.0, "max-age")
    assert cache_lifetime({"cache-control": "no-store"}, NOW) is None
    assert cache_lifetime({"expires": "garbage"}, NOW) is None
    assert cache_lifetime({}, NOW) is None
