"""``wegwijs ask``: the real dialog pipeline for one consented web-chat user, from the command line."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from bot.channels.webchat import CHANNEL, token_to_external_id
from bot.pipeline import Pipeline
from bot.settings import Settings
from cases.db import create_engine, session_factory, transaction
from cases.models import Message
from cases.services import identities, messages, participants
from locales.languages import DEFAULT_LANGUAGE, script_hint, supported


class UnknownParticipant(LookupError):
    """``--as`` named no participant."""


class AskRunner:
    """Runs questions through inbox → dialogs → outbox, reusing one engine for many questions."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings.database_url)
        self.pipeline = Pipeline(session_factory(self.engine), settings)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ask(
        self,
        text: str,
        *,
        language: str | None = None,
        session_id: str | None = None,
        as_participant: str | None = None,
    ) -> dict[str, Any]:
        """Answer ``text`` as the conversation ``session_id`` (a new one when None)."""
        session_id = session_id or uuid.uuid4().hex
        lang = supported(language) if language else None
        async with transaction(self.pipeline.sessions) as session:
            identity = await identities.get_or_create(
                session, CHANNEL, token_to_external_id(f"ask:{session_id}")
            )
            if identity.consent_given_at is None:
                await identities.give_consent(session, identity)
            if lang or identity.language is None:
                identities.set_language(identity, lang or script_hint(text) or DEFAULT_LANGUAGE)
            if as_participant and identity.participant_id is None:
                participant = await participants.find(session, as_participant)
                if participant is None:
                    raise UnknownParticipant(as_participant)
                await identities.link(session, identity, participant.id, via="cli")
            messages.start_at_menu(await messages.conversation_for(session, identity))
        await self.pipeline.accept(identity, external_id=f"ask:{uuid.uuid4().hex}", text=text, schedule=False)
        turns = await self.pipeline.process(identity.id)
        outbound_ids = [i for turn in turns for i in turn.outbound_ids]
        async with transaction(self.pipeline.sessions) as session:
            rows = list(
                await session.scalars(
                    select(Message).where(Message.id.in_(outbound_ids)).order_by(Message.id)
                )
            )
            await messages.mark_sent(session, outbound_ids)
        last = turns[-1] if turns else None
        return {
            "replies": [{"text": m.text, "buttons": m.buttons or []} for m in rows],
            "language": last.language if last else identity.language,
            "intent": last.intent if last else None,
            "escalated": any(t.escalated for t in turns),
            "session": session_id,
        }
