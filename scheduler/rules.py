"""Time rules: reminder offsets (DST-correct), quiet hours, deadline rules and the no-show ladder.

Days and longer are counted on the local calendar (a reminder "1d" before a 10:00 appointment
comes at 10:00 the day before, also across a clock change); hours and minutes are counted on the
clock (UTC).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

DEFAULT_FILE = Path(__file__).with_name("rules.toml")
_SPAN = re.compile(r"^(\d+)([mhdwM])$")


class RuleError(ValueError):
    """The rules file is wrong (names the rule and the field)."""


def parse_span(text: str) -> tuple[int, str]:
    """``"7d"`` → (7, "d"). Units: m(inutes), h(ours), d(ays), w(eeks), M(onths)."""
    match = _SPAN.match(text)
    if not match:
        raise RuleError(f"{text!r} is not a span like 30m, 2h, 7d, 10w or 6M")
    return int(match.group(1)), match.group(2)


def shift(when: dt.datetime, span: str, zone: str, *, sign: int = 1) -> dt.datetime:
    """``when`` moved by ``span`` (forward, or back with ``sign=-1``); returns aware UTC."""
    amount, unit = parse_span(span)
    amount *= sign
    if unit in ("m", "h"):
        delta = dt.timedelta(minutes=amount) if unit == "m" else dt.timedelta(hours=amount)
        return (when.astimezone(dt.UTC) + delta).astimezone(dt.UTC)
    local = when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    moved = local + (
        dt.timedelta(days=amount)
        if unit == "d"
        else dt.timedelta(weeks=amount)
        if unit == "w"
        else relativedelta(months=amount)
    )
    return moved.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def shift_date(day: dt.date, span: str, *, sign: int = 1) -> dt.date:
    """A calendar date moved by a span of days, weeks or months."""
    amount, unit = parse_span(span)
    amount *= sign
    if unit == "d":
        return day + dt.timedelta(days=amount)
    if unit == "w":
        return day + dt.timedelta(weeks=amount)
    if unit == "M":
        return day + relativedelta(months=amount)
    raise RuleError(f"{span!r}: a date moves by days, weeks or months")


@dataclass(frozen=True)
class QuietHours:
    """No messages between ``start`` and ``end`` local time (the span may cross midnight)."""

    start: dt.time
    end: dt.time
    zone: str

    @classmethod
    def parse(cls, start: str, end: str, zone: str) -> QuietHours:
        return cls(dt.time.fromisoformat(start), dt.time.fromisoformat(end), zone)

    def contains(self, when: dt.datetime) -> bool:
        """True when ``when`` falls in the quiet hours."""
        if self.start == self.end:
            return False
        local = when.astimezone(ZoneInfo(self.zone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_end(self, when: dt.datetime) -> dt.datetime:
        """The first moment after ``when`` at which the quiet hours are over (UTC)."""
        zone = ZoneInfo(self.zone)
        local = when.astimezone(zone)
        candidate = dt.datetime.combine(local.date(), self.end, tzinfo=zone)
        if candidate <= local.replace(tzinfo=zone):
            candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), self.end, tzinfo=zone)
        return candidate.astimezone(dt.UTC)

    def last_start(self, when: dt.datetime) -> dt.datetime:
        """The most recent start of quiet hours at or before ``when`` (UTC)."""
        zone = ZoneInfo(self.zone)
        local = when.astimezone(zone)
        candidate = dt.datetime.combine(local.date(), self.start, tzinfo=zone)
        if candidate > local:
            candidate = dt.datetime.combine(local.date() - dt.timedelta(days=1), self.start, tzinfo=zone)
        return candidate.astimezone(dt.UTC)

    def adjust(self, due: dt.datetime, *, before: dt.datetime | None = None) -> dt.datetime:
        """Move a due time out of the quiet hours: to their end, or, when that would be too late
        (not before ``before``, e.g. the appointment), to just before they began."""
        if not self.contains(due):
            return due
        later = self.next_end(due)
        if before is None or later < before:
            return later
        return self.last_start(due) - dt.timedelta(minutes=5)


def reminder_due_times(
    starts_at: dt.datetime, offsets: tuple[str, ...], quiet: QuietHours, now: dt.datetime
) -> dict[str, dt.datetime]:
    """The due time of each reminder offset of an appointment; offsets already past are left out."""
    due: dict[str, dt.datetime] = {}
    for offset in offsets:
        when = quiet.adjust(shift(starts_at, offset, quiet.zone, sign=-1), before=starts_at)
        if now <= when < starts_at:
            due[offset] = when
    return due


@dataclass(frozen=True)
class DeadlineRule:
    key: str
    anchor: str
    add: str
    stop_when_set: str | None
    target_groups: tuple[str, ...]
    participant_before: tuple[str, ...]
    staff_before: tuple[str, ...]
    task: str
    source: str
    late_days: int = 0  # still planned this many days after the deadline (a missed scan catches up)

    def deadline(self, anchor_date: dt.date) -> dt.date:
        return shift_date(anchor_date, self.add)


@dataclass(frozen=True)
class LadderStep:
    step: str
    after: str
    action: str  # message | task
    task: str
    source: str


@dataclass(frozen=True)
class Rules:
    deadlines: dict[str, DeadlineRule]
    ladder: tuple[LadderStep, ...]


_ANCHORS = ("brp_date", "pip_signed_date", "termijn_end", "ontzorgen_start")


@cache
def load(path: Path = DEFAULT_FILE) -> Rules:
    """The deadline rules and no-show ladder of the file at ``path`` (read once per process)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    deadlines = {}
    for key, raw in data.get("deadlines", {}).items():
        if raw.get("anchor") not in _ANCHORS:
            raise RuleError(f"deadline {key!r}: anchor must be one of {', '.join(_ANCHORS)}")
        for span in (raw.get("add", ""), *raw.get("participant_before", []), *raw.get("staff_before", [])):
            parse_span(span)
        deadlines[key] = DeadlineRule(
            key=key,
            anchor=raw["anchor"],
            add=raw.get("add", "0d"),
            stop_when_set=raw.get("stop_when_set"),
            target_groups=tuple(raw.get("target_groups", [])),
            participant_before=tuple(raw.get("participant_before", [])),
            staff_before=tuple(raw.get("staff_before", [])),
            task=str(raw.get("task", key)),
            source=str(raw.get("source", "")),
            late_days=int(raw.get("late_days", 0)),
        )
    ladder = []
    for raw in data.get("no_show_ladder", []):
        if raw.get("action") not in ("message", "task"):
            raise RuleError(f"no-show step {raw.get('step')!r}: action must be message or task")
        parse_span(raw.get("after", ""))
        ladder.append(
            LadderStep(
                step=str(raw["step"]),
                after=str(raw["after"]),
                action=str(raw["action"]),
                task=str(raw.get("task", "")),
                source=str(raw.get("source", "")),
            )
        )
    return Rules(deadlines, tuple(ladder))


DAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
DEFAULT_OFFICE_HOURS: dict[str, list[str] | None] = {
    "ma": ["08:30", "17:00"],
    "di": ["08:30", "17:00"],
    "wo": ["08:30", "17:00"],
    "do": ["08:30", "17:00"],
    "vr": ["08:30", "17:00"],
    "za": None,
    "zo": None,
}


@dataclass(frozen=True)
class OfficeHours:
    """When staff answer the chat: opening and closing time per weekday (``None``: closed)."""

    hours: dict[str, list[str] | None]
    zone: str

    def _span(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        times = self.hours.get(DAYS[day.weekday()])
        if not times:
            return None
        opens, closes = (dt.time.fromisoformat(t) for t in times)
        zone = ZoneInfo(self.zone)
        return dt.datetime.combine(day, opens, tzinfo=zone), dt.datetime.combine(day, closes, tzinfo=zone)

    def is_open(self, when: dt.datetime) -> bool:
        span = self._span(when.astimezone(ZoneInfo(self.zone)).date())
        return span is not None and span[0] <= when < span[1]

    def next_open(self, when: dt.datetime) -> dt.datetime | None:
        """The next opening moment after ``when`` (None when the office never opens)."""
        day = when.astimezone(ZoneInfo(self.zone)).date()
        for ahead in range(15):
            span = self._span(day + dt.timedelta(days=ahead))
            if span is not None and span[0] > when:
                return span[0].astimezone(dt.UTC)
        return None

    @staticmethod
    def check(hours: dict[str, list[str] | None]) -> dict[str, list[str] | None]:
        """Validate hours typed by a beheerder; raises RuleError with a readable message."""
        clean: dict[str, list[str] | None] = {}
        for day in DAYS:
            times = hours.get(day)
            if not times:
                clean[day] = None
                continue
            try:
                opens, closes = (dt.time.fromisoformat(t) for t in times)
            except ValueError:
                raise RuleError(f"{day}: tijden als 08:30") from None
            if opens >= closes:
                raise RuleError(f"{day}: openen moet voor sluiten liggen")
            clean[day] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
        return clean
