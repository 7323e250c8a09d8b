"""Settings beheerders change in the console: office hours, escalation keywords, response target."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CannedReply, ConsoleSetting, StaffUser
from cases.services import audit
from scheduler.rules import DEFAULT_OFFICE_HOURS

CANNED_FILE = Path(__file__).resolve().parents[2] / "locales" / "canned_replies.toml"
DEFAULTS: dict[str, Any] = {
    "office_hours": DEFAULT_OFFICE_HOURS,
    "escalation_keywords": [],  # phrases that always bring in a person (any language)
    "first_response_minutes": 240,  # target for a first answer, in minutes
    "response_hours": 24,  # what the bot promises during office hours
}


async def get_all(session: AsyncSession) -> dict[str, Any]:
    """Every setting, with defaults for the ones nobody changed."""
    stored = {row.key: row.value for row in await session.scalars(select(ConsoleSetting))}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


async def put(session: AsyncSession, key: str, value: Any, *, by: StaffUser) -> None:
    """Change one setting (audited: who changed what, not the value)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = await session.get(ConsoleSetting, key)
    if row is None:
        session.add(ConsoleSetting(key=key, value=value, updated_by_id=by.id))
    else:
        row.value = value
        row.updated_by_id = by.id
    await audit.record(session, "settings.changed", staff=by, details={"key": key})


def default_canned_replies() -> list[dict[str, str]]:
    """The standard answers in ``locales/canned_replies.toml`` (title, Dutch, curated translations)."""
    with CANNED_FILE.open("rb") as fh:
        return list(tomllib.load(fh).get("reply", []))


async def load_default_canned_replies(session: AsyncSession) -> int:
    """Add the standard answers of ``locales/canned_replies.toml`` (with their curated translations)."""
    replies = default_canned_replies()
    for raw in replies:
        translations = {k: str(v) for k, v in raw.items() if k not in ("title", "nl")}
        session.add(CannedReply(title=raw["title"], text_nl=raw["nl"], translations=translations))
    return len(replies)
