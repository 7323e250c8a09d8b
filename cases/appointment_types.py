"""Appointment types as configuration (``appointment_types.toml``): duration, place, tolk, documents,
reminder offsets."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("appointment_types.toml")
LOCATION_KINDS = ("office", "online", "phone", "provider")
OFFSET = re.compile(r"^(\d+)([dhm])$")


class AppointmentTypeError(ValueError):
    """The appointment types file is wrong (names the type and the field)."""


@dataclass(frozen=True)
class AppointmentType:
    key: str
    duration_minutes: int
    location_kind: str
    tolk: bool
    checklist: tuple[str, ...]
    reminders: tuple[str, ...]
    source: str


def _parse(key: str, raw: dict[str, object]) -> AppointmentType:
    def fail(field: str, why: str) -> AppointmentTypeError:
        return AppointmentTypeError(f"appointment type {key!r}: {field} {why}")

    duration = raw.get("duration_minutes")
    if not isinstance(duration, int) or not 5 <= duration <= 8 * 60:
        raise fail("duration_minutes", "must be 5..480")
    kind = raw.get("location_kind")
    if kind not in LOCATION_KINDS:
        raise fail("location_kind", f"must be one of {', '.join(LOCATION_KINDS)}")
    reminders = tuple(str(r) for r in raw.get("reminders", []))  # type: ignore[attr-defined]
    for offset in reminders:
        if not OFFSET.match(offset):
            raise fail("reminders", f"has {offset!r}; use e.g. '7d', '1d', '2h' or '30m'")
    if not str(raw.get("source", "")).strip():
        raise fail("source", "is missing")
    return AppointmentType(
        key=key,
        duration_minutes=duration,
        location_kind=str(kind),
        tolk=bool(raw.get("tolk", False)),
        checklist=tuple(str(c) for c in raw.get("checklist", [])),  # type: ignore[attr-defined]
        reminders=reminders,
        source=str(raw["source"]),
    )


@cache
def load(path: Path = DEFAULT_FILE) -> dict[str, AppointmentType]:
    """All appointment types of the file at ``path``, by key (read once per process)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {key: _parse(key, raw) for key, raw in data.get("types", {}).items()}


def get(key: str, path: Path = DEFAULT_FILE) -> AppointmentType:
    """One appointment type; KeyError for an unknown key."""
    return load(path)[key]
