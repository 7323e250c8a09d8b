"""The inbox → dialogs → outbox pipeline: idempotent, ordered, one participant at a time, crash-safe."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.pipeline import Pipeline
from cases.db import transaction
from cases.models import ArticleEvent, AuditEvent, ChannelIdentity, Conversation, Escalation, Message
from cases.services import identities
from tests.helpers import consented_identity


async def _identity(sessions, external_id: str = "user-1") -> ChannelIdentity:  # type: ignore[no-untyped-def]
    return await consented_identity(sessions, external_id)


async def _count(sessions, direction: str) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Message.direction == direction)) or 0)


async def test_the_same_message_twice_is_stored_and_answered_once(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    identity = await _identity(sessions)
    first = await pipeline.accept(identity, external_id="wamid.1", text="hallo", schedule=False)
    second = await pipeline.accept(identity, external_id="wamid.1", text="hallo", schedule=False)
    assert first.created and not second.created and first.message_id == second.message_id
    turns = await pipeline.process(identity.id)
    assert len(turns) == 1 and turns[0].intent == "greeting"
    assert await pipeline.process(identity.id) == []
    assert await _count(sessions, "in") == 1
    assert await _count(sessions, "out") == 1


async def test_messages_of_one_person_are_handled_in_order(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    identity = await _identity(sessions)
    await pipeline.accept(
        identity, external_id="1", kind="button", text="Koppelcode", payload="menu:koppelcode", schedule=False
    )
    await pipeline.accept(identity, external_id="2", text="ABCDEFGH", schedule=False)
    await pipeline.accept(identity, external_id="3", text="hallo", schedule=False)
    turns = await pipeline.process(identity.id)
    # Only in this order does "ABCDEFGH" count as a code attempt (it has no digit).
    assert [t.intent for t in turns] == ["menu.koppelcode", "koppelcode", "greeting"]
    async with sessions() as session:
        out = list(
            await session.scalars(
                select(Message.intent).where(Message.direction == "out").order_by(Message.id)
            )
        )
    assert out == ["menu.koppelcode", "koppelcode", "greeting"]


async def test_work_left_by_a_crashed_process_is_done_once_after_restart(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    identity = await _identity(sessions)
    crashed = Pipeline(sessions, settings)
    await crashed.accept(
        identity, external_id="before-crash", text="hallo", schedule=False
    )  # committed, never run

    restarted = Pipeline(sessions, settings)
    await restarted.start()
    for _ in range(200):
        if await _count(sessions, "out") >= 1:
            break
        await asyncio.sleep(0.02)
    await restarted.stop()

    again = Pipeline(sessions, settings)
    await again.start()
    await again.stop()
    assert await _count(sessions, "out") == 1
    async with sessions() as session:
        status = await session.scalar(select(Message.status).where(Message.external_id == "before-crash"))
    assert status == "processed"


async def test_two_workers_never_handle_the_same_message_twice(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    identity = await _identity(sessions)
    one, two = Pipeline(sessions, settings), Pipeline(sessions, settings)
    for n in range(10):
        await one.accept(identity, external_id=f"m{n}", text="hallo", schedule=False)
    turns_a, turns_b = await asyncio.gather(one.process(identity.id), two.process(identity.id))
    handled = [t.message_id for t in turns_a + turns_b]
    assert len(handled) == 10 and len(set(handled)) == 10
    assert await _count(sessions, "out") == 10


async def test_graceful_stop_drains_queued_work(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    await pipeline.start()
    for n in range(5):
        identity = await _identity(sessions, f"user-{n}")
        await pipeline.accept(identity, external_id=f"m{n}", text="hallo")
    await pipeline.stop()
    assert await _count(sessions, "out") == 5


async def test_asking_for_a_person_is_recorded_on_the_conversation(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    identity = await _identity(sessions)
    await pipeline.accept(identity, external_id="p", kind="button", payload="menu:person", schedule=False)
    turns = await pipeline.process(identity.id)
    assert turns[0].escalated
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None and conversation.handoff_requested_at is not None
        actions = list(await session.scalars(select(AuditEvent.action)))
        escalation = (await session.scalars(select(Escalation))).one()
    assert "escalation.opened.person_requested" in actions
    assert (
        escalation.reason == "person_requested"
        and not escalation.confidential
        and escalation.status == "open"
    )


async def test_bot_replies_keep_their_dutch_text_for_staff(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "webchat", "ar-user")
        identities.set_language(identity, "ar")
        await identities.give_consent(session, identity)
    await pipeline.accept(identity, external_id="x", text="مرحبا", schedule=False)
    await pipeline.process(identity.id)
    async with sessions() as session:
        out = (await session.scalars(select(Message).where(Message.direction == "out"))).one()
    assert out.language == "ar" and out.text.startswith("مرحب")
    assert out.translated_text == "Hallo! Waarmee kan ik u helpen?"
    assert out.translation_language == "nl" and out.translation_engine == "catalog"


async def test_flooding_gets_one_polite_answer_then_quiet(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    from locales.catalog import t

    pipeline = Pipeline(sessions, settings)
    identity = await _identity(sessions)
    limit = settings.flood_max_per_minute
    for n in range(limit + 5):
        await pipeline.accept(identity, external_id=f"f{n}", text="hallo", schedule=False)
    turns = await pipeline.process(identity.id)
    intents = [t_.intent for t_ in turns]
    assert intents[:limit] == ["greeting"] * limit
    assert intents[limit:] == ["flood_limited"] * 5
    async with sessions() as session:
        texts = list(
            await session.scalars(
                select(Message.text).where(Message.intent == "flood_limited", Message.direction == "out")
            )
        )
        stored = await session.scalar(select(func.count()).where(Message.direction == "in"))
    assert texts == [t("nl", "error.flood")], "one polite answer, not one per message"
    assert stored == limit + 5, "every message is kept"


# --- Group commit and batches: what load changes, and what it must not -------------------------------
def _count_transactions(sessions) -> list[int]:  # type: ignore[no-untyped-def]
    """A counter of transactions begun on the sessions' engine (the real ones, no mock)."""
    from sqlalchemy import event

    begun = [0]
    event.listen(sessions.kw["bind"].sync_engine, "begin", lambda _conn: begun.__setitem__(0, begun[0] + 1))
    return begun


def _record_statements(sessions) -> list[str]:  # type: ignore[no-untyped-def]
    """The SQL statements executed on the sessions' engine from now on."""
    from sqlalchemy import event

    executed: list[str] = []
    event.listen(
        sessions.kw["bind"].sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: executed.append(statement),
    )
    return executed


async def test_messages_arriving_together_share_one_inbox_commit(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    people = [ChannelIdentity(channel="whatsapp", external_id=f"3160000{n:04d}") for n in range(20)]
    begun = _count_transactions(sessions)
    arrivals = [
        pipeline.accept(person, external_id=f"wamid.{n}.{k}", text=f"vraag {k}", schedule=False)
        for k in range(2)
        for n, person in enumerate(people)
    ]
    arrivals.append(pipeline.accept(people[0], external_id="wamid.0.0", text="vraag 0", schedule=False))
    accepted = await asyncio.gather(*arrivals)
    assert begun[0] <= 3, f"40 messages took {begun[0]} transactions"
    assert [a.created for a in accepted] == [True] * 40 + [False], "a platform retry is stored once"
    assert accepted[-1].message_id == accepted[0].message_id
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Message.identity_id, Message.text)
                .where(Message.direction == "in")
                .order_by(Message.id)
            )
        ).all()
    assert len(rows) == 40 and len({i for i, _ in rows}) == 20
    for identity_id in {i for i, _ in rows}:
        assert [t for i, t in rows if i == identity_id] == ["vraag 0", "vraag 1"], "arrival order kept"


async def test_a_bad_arrival_does_not_fail_the_others_in_its_commit(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    good = ChannelIdentity(channel="telegram", external_id="42")
    bad = ChannelIdentity(channel="fax", external_id="0201234567")
    results = await asyncio.gather(
        pipeline.accept(good, external_id="t1", text="hallo", schedule=False),
        pipeline.accept(bad, external_id="f1", text="hallo", schedule=False),
        pipeline.accept(good, external_id="t2", text="menu", schedule=False),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert [r.created for r in (results[0], results[2])] == [True, True]  # type: ignore[union-attr]
    assert await _count(sessions, "in") == 2


async def test_a_batch_of_people_is_handled_in_one_transaction(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    people = [await _identity(sessions, f"user-{n}") for n in range(12)]
    for n, person in enumerate(people):
        await pipeline.accept(person, external_id=f"m{n}", text="wat is een PIP", schedule=False)
    await pipeline.accept(people[0], external_id="later", text="hallo", schedule=False)
    begun = _count_transactions(sessions)
    statements = _record_statements(sessions)
    turns = await pipeline.process_many([p.id for p in people])
    assert begun[0] == 1, "twelve people, one write transaction"
    event_inserts = [s for s in statements if s.startswith("INSERT INTO article_events")]
    assert len(event_inserts) == 1, f"the articles shown go in with one statement, not {len(event_inserts)}"
    assert sorted(t.identity_id for t in turns) == sorted(p.id for p in people)
    assert {t.intent for t in turns} == {"kb.pip"}
    assert all(t.outbound_ids for t in turns), "every reply has its id after the commit"
    assert next(t for t in turns if t.identity_id == people[0].id).more_waiting
    assert pipeline._queue.qsize() == 1, "the person with another message waiting is queued again"
    async with sessions() as session:
        replies = list(
            await session.scalars(
                select(Message.identity_id).where(Message.direction == "out").order_by(Message.id)
            )
        )
    assert len(replies) == sum(len(t.outbound_ids) for t in turns)
    assert all(replies.count(t.identity_id) == len(t.outbound_ids) for t in turns), "each to its own person"
    async with sessions() as session:
        shown = list(await session.scalars(select(ArticleEvent.kind).where(ArticleEvent.article_id == "pip")))
    assert shown == ["shown"] * 12, "every answer shown is counted"


POISON = {
    "sqlite": [
        "CREATE TRIGGER poison BEFORE UPDATE OF status ON messages "
        "WHEN NEW.external_id = 'poison' AND NEW.status = 'processed' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned message'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.external_id = 'poison' AND NEW.status = 'processed' THEN "
        "RAISE EXCEPTION 'poisoned message'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER poison BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
    ],
}
UNPOISON = {
    "sqlite": ["DROP TRIGGER IF EXISTS poison"],
    "postgresql": ["DROP TRIGGER IF EXISTS poison ON messages", "DROP FUNCTION IF EXISTS poison()"],
}


async def test_one_message_that_cannot_be_stored_does_not_sink_its_batch(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    """A database trigger refuses one message's 'processed' mark: the batch rolls back, everyone
    else is answered one by one, and that message is marked failed with an apology."""
    from sqlalchemy import text

    from locales.catalog import t

    dialect = sessions.kw["bind"].dialect.name
    pipeline = Pipeline(sessions, settings)
    people = [await _identity(sessions, f"user-{n}") for n in range(5)]
    for n, person in enumerate(people):
        await pipeline.accept(
            person, external_id="poison" if n == 2 else f"m{n}", text="hallo", schedule=False
        )
    async with transaction(sessions) as session:
        for statement in POISON[dialect]:
            await session.execute(text(statement))
    try:
        turns = await pipeline.process_many([p.id for p in people])
    finally:
        async with transaction(sessions) as session:
            for statement in UNPOISON[dialect]:
                await session.execute(text(statement))
    by_person = {t_.identity_id: t_ for t_ in turns}
    assert by_person[people[2].id].intent == "error"
    assert {by_person[p.id].intent for n, p in enumerate(people) if n != 2} == {"greeting"}
    async with sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Message.external_id, Message.status).where(Message.direction == "in")
                )
            ).all()
        )
        apology = await session.scalar(
            select(Message.text).where(Message.identity_id == people[2].id, Message.direction == "out")
        )
    assert statuses == {
        "m0": "processed",
        "m1": "processed",
        "poison": "failed",
        "m3": "processed",
        "m4": "processed",
    }
    assert apology == t("nl", "fallback.unknown")


async def test_the_flood_limit_holds_in_batches_too(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    flooder, calm = await _identity(sessions, "flooder"), await _identity(sessions, "calm")
    limit = settings.flood_max_per_minute
    for n in range(limit + 3):
        await pipeline.accept(flooder, external_id=f"f{n}", text="hallo", schedule=False)
    await pipeline.accept(calm, external_id="c0", text="hallo", schedule=False)
    intents: list[str] = []
    while turns := await pipeline.process_many([flooder.id, calm.id]):
        intents += [t.intent for t in turns if t.identity_id == flooder.id]
    assert intents == ["greeting"] * limit + ["flood_limited"] * 3
    async with sessions() as session:
        calm_reply = await session.scalar(
            select(Message.intent).where(Message.identity_id == calm.id, Message.direction == "out")
        )
    assert calm_reply == "greeting"
