"""The sandbox clock: real time plus an offset that tests can advance, and QBO's time formats."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from django.utils import timezone

from integration.sandbox.quickbooks.models import SandboxClock

# QBO answers `time` and MetaData in Pacific time unless the company says otherwise.
PACIFIC = ZoneInfo("America/Los_Angeles")


# Within one request the offset is read once (see `pinned`), not on every `now()`.
_pinned: ContextVar[float | None] = ContextVar("qbo_sandbox_clock_offset", default=None)


@contextmanager
def pinned():
    """Read the clock offset once for the duration of a request."""
    token = _pinned.set(_clock().offset_seconds)
    try:
        yield
    finally:
        _pinned.reset(token)


def _clock() -> SandboxClock:
    clock = SandboxClock.objects.first()
    if clock is None:
        clock = SandboxClock.objects.create(offset_seconds=0)
    return clock


def now() -> dt.datetime:
    """Aware UTC 'now' as the sandbox sees it."""
    offset = _pinned.get()
    if offset is None:
        offset = _clock().offset_seconds
    return timezone.now() + dt.timedelta(seconds=offset)


def advance(*, seconds: float) -> dt.datetime:
    """Move the sandbox clock forward (token expiry, due dates, rate windows all follow)."""
    clock = _clock()
    SandboxClock.objects.filter(pk=clock.pk).update(offset_seconds=clock.offset_seconds + seconds)
    if _pinned.get() is not None:
        _pinned.set(clock.offset_seconds + seconds)
    return now()


def reset() -> None:
    SandboxClock.objects.all().delete()


def qbo_datetime(value: dt.datetime, tz: str | None = None) -> str:
    """'2020-09-29T05:58:07-07:00' (MetaData style: seconds, offset)."""
    local = value.astimezone(ZoneInfo(tz) if tz else PACIFIC).replace(microsecond=0)
    return local.isoformat()


def qbo_time(value: dt.datetime | None = None, tz: str | None = None) -> str:
    """'2020-09-29T05:58:07.300-07:00' (envelope `time`: milliseconds, offset)."""
    local = (value or now()).astimezone(ZoneInfo(tz) if tz else PACIFIC)
    return local.isoformat(timespec="milliseconds")


def today(tz: str) -> dt.date:
    return now().astimezone(ZoneInfo(tz)).date()


def parse_datetime(text: str, tz: str | None = None) -> dt.datetime | None:
    """QBO accepts dates and datetimes with or without an offset; naive ones are in `tz` (the
    company's time zone where the caller knows it), else Pacific."""
    text = text.strip()
    try:
        if len(text) == 10:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz) if tz else PACIFIC)
    return parsed
