"""Migrations and the case model on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from cases.db import create_engine, downgrade_database, normalise_database_url, transaction, upgrade_database
from cases.models import Base, ChannelIdentity, Message, utcnow
from cases.services import audit, identities, messages
from tests.helpers import make_participant, make_staff


async def test_migrations_create_every_model_table(db_url: str) -> None:
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    await engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_migrations_go_down_and_up_again(db_url: str) -> None:
    downgrade_database(db_url, "base")
    upgrade_database(db_url)
    upgrade_database(db_url)  # at head: a no-op


async def test_datetimes_come_back_aware_utc(sessions) -> None:  # type: ignore[no-untyped-def]
    amsterdam = dt.timezone(dt.timedelta(hours=1))
    when = dt.datetime(2026, 3, 29, 2, 30, tzinfo=amsterdam)
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "webchat", "abc")
        identity.consent_given_at = when
    async with sessions() as session:
        stored = await session.scalar(select(ChannelIdentity.consent_given_at))
    assert stored == when and stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)


async def test_external_message_id_is_unique_per_channel(sessions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        web = await identities.get_or_create(session, "webchat", "a")
        tg = await identities.get_or_create(session, "telegram", "b")
        first = await messages.store_inbound(session, web, external_id="m1", text="hoi")
        again = await messages.store_inbound(session, web, external_id="m1", text="hoi")
        other_channel = await messages.store_inbound(session, tg, external_id="m1", text="hoi")
    assert first.created and not again.created and other_channel.created
    assert again.message_id == first.message_id
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            conv = await messages.conversation_for(session, web)
            session.add(
                Message(
                    conversation_id=conv.id,
                    identity_id=web.id,
                    direction="in",
                    channel="webchat",
                    external_id="m1",
                    status="received",
                )
            )


async def test_participant_fields_and_termijn(sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    p = await make_participant(
        sessions,
        klantmanager=km,
        pip_signed_date=dt.date(2024, 2, 29),
        target_group="gezinsmigrant",
        wet_regime="Wi2013",
    )
    assert p.termijn_end == dt.date(2027, 2, 28)
    assert p.team_id == km.team_id and p.klantmanager_id == km.id
    async with sessions() as session:
        events = await audit.events_for_participant(session, p.id)
    assert [e.action for e in events] == ["participant.created"]


def test_database_urls_are_normalised() -> None:
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_database_url("postgresql://u@h:5432/d").startswith("postgresql+asyncpg://u@h:5432/d")
    assert normalise_database_url("postgres://u@h/d").startswith("postgresql+asyncpg://")
    for bad in ("mysql://u@h/d", "nonsense", "sqlite://"):
        with pytest.raises(ValueError):
            normalise_database_url(bad)


def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is dt.UTC


async def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(db_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata
            )
        )
    await engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


async def test_database_errors_do_not_carry_personal_data(sessions) -> None:  # type: ignore[no-untyped-def]
    """Their tracebacks reach the log: the statement may show, its parameters (texts, names) not."""
    with pytest.raises(IntegrityError) as caught:
        async with transaction(sessions) as session:  # no such conversation or identity
            session.add(
                Message(
                    conversation_id=424242,
                    identity_id=424242,
                    direction="in",
                    channel="whatsapp",
                    text="Mijn naam is Fatima el Amrani",
                )
            )
    assert "Fatima" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
