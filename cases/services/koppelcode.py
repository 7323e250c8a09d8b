"""Koppelcodes: one-time codes that link a chat account to a participant's case."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import ChannelIdentity, Koppelcode, Participant, StaffUser, utcnow
from cases.services import audit, identities

# No 0/O, 1/I/L: nothing that can be misread on a letter or typed wrongly.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_DIGITS = set("23456789")
_CODE_RE = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def normalise(text: str) -> str:
    """Upper-case and drop spaces, dashes and dots: 'kx7p-4m2w' and 'KX7P 4M2W' are the same code."""
    return re.sub(r"[\s\-._]", "", text).upper()


def looks_like_code(text: str) -> bool:
    """True for text that has a koppelcode's shape (8 code characters with a digit and a letter)."""
    code = normalise(text)
    return bool(_CODE_RE.match(code)) and any(c in _DIGITS for c in code) and not code.isdigit()


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def _generate() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        digits = sum(c in _DIGITS for c in code)
        if 2 <= digits < CODE_LENGTH:
            return f"{code[:4]}-{code[4:]}"


async def create_koppelcode(
    session: AsyncSession, participant: Participant, *, valid_days: int, created_by: StaffUser | None
) -> tuple[str, dt.datetime]:
    """Make a new code for ``participant``; returns the code (shown once, stored hashed) and its expiry."""
    expires_at = utcnow() + dt.timedelta(days=valid_days)
    code = _generate()
    while await session.scalar(select(Koppelcode.id).where(Koppelcode.code_hash == _hash(code))):
        code = _generate()
    session.add(
        Koppelcode(
            participant_id=participant.id,
            code_hash=_hash(code),
            created_by_id=created_by.id if created_by else None,
            expires_at=expires_at,
        )
    )
    await session.flush()
    await audit.record(session, "koppelcode.created", staff=created_by, participant_id=participant.id)
    return code, expires_at


@dataclass(frozen=True)
class LinkOutcome:
    status: Literal["linked", "invalid", "rate_limited", "already_linked"]
    participant: Participant | None = None
    retry_minutes: int = 0


async def redeem(
    session: AsyncSession,
    identity: ChannelIdentity,
    text: str,
    *,
    max_failures: int,
    lock_minutes: int,
) -> LinkOutcome:
    """Try to link ``identity`` with the code in ``text``. Wrong guesses are counted and rate-limited."""
    now = utcnow()
    if identity.participant_id is not None:
        return LinkOutcome("already_linked")
    if identity.link_locked_until and identity.link_locked_until > now:
        return LinkOutcome("rate_limited", retry_minutes=_minutes_until(identity.link_locked_until, now))
    row = await session.scalar(
        select(Koppelcode)
        .where(Koppelcode.code_hash == _hash(text), Koppelcode.used_at.is_(None), Koppelcode.expires_at > now)
        .with_for_update()
    )
    if row is None:
        window = dt.timedelta(minutes=lock_minutes)
        if identity.link_window_start is None or now - identity.link_window_start > window:
            identity.link_window_start, identity.link_failures = now, 0
        identity.link_failures += 1
        await audit.record(session, "koppelcode.failed", identity_id=identity.id)
        if identity.link_failures >= max_failures:
            identity.link_locked_until = now + window
            identity.link_failures = 0
            return LinkOutcome("rate_limited", retry_minutes=lock_minutes)
        return LinkOutcome("invalid")
    row.used_at = now
    row.used_by_identity_id = identity.id
    participant = await identities.link(session, identity, row.participant_id, via="koppelcode")
    return LinkOutcome("linked", participant=participant)


def _minutes_until(when: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((when - now).total_seconds() + 59) // 60)


async def purge_expired(session: AsyncSession, *, expired_for_days: int = 30) -> int:
    """Delete codes that expired unused more than ``expired_for_days`` ago; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=expired_for_days)
    result = await session.execute(
        delete(Koppelcode).where(Koppelcode.used_at.is_(None), Koppelcode.expires_at < cutoff)
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        await audit.record(session, "koppelcode.purged", details={"count": count})
    return count
