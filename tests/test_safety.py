"""Safety signals in every language: an immediate safe answer and a confidential alert, never quoted."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select

from bot.pipeline import Pipeline
from cases.models import AuditEvent, Escalation
from dialogs import engine, safety
from dialogs.model import Context, Inbound, RaiseSafetyAlert
from locales.catalog import t
from locales.languages import LANGUAGES
from tests.helpers import consented_identity, login, make_staff

LEXICON = tomllib.loads(safety.LEXICON.read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_language_has_every_category(language: str) -> None:
    for category in safety.CATEGORIES:
        assert len(LEXICON[language][category]) >= 8, (language, category)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_signals_are_recognised(language: str) -> None:
    for message in LEXICON["signals"][language]:
        assert safety.detect(message) is not None, message


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_ordinary_questions_do_not_raise_an_alarm(language: str) -> None:
    for message in LEXICON["harmless"][language]:
        assert safety.detect(message) is None, message


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_safe_answer_comes_first_even_before_consent(language: str) -> None:
    message = LEXICON["signals"][language][0]
    result = engine.handle(Context(language=language, consented=False, state={}), Inbound("text", message))
    assert result.intent == "safety" and result.escalated
    text = result.replies[0].text
    assert text == t(language, "safety.answer")
    for number in ("112", "0800-2000", "113", "0800-0113"):
        assert number in text
    assert any(isinstance(e, RaiseSafetyAlert) for e in result.effects)


async def test_alert_is_confidential_and_never_quotes_the_message(client, sessions, settings) -> None:  # type: ignore[no-untyped-def]
    message = LEXICON["signals"]["nl"][0]
    pipeline = Pipeline(sessions, settings)
    identity = await consented_identity(sessions, "in-danger", "nl")
    await pipeline.accept(identity, external_id="s1", text=message, schedule=False)
    await pipeline.process(identity.id)
    async with sessions() as session:
        alert = (await session.scalars(select(Escalation))).one()
        audit_details = [str(e.details) for e in await session.scalars(select(AuditEvent))]
    assert alert.confidential and alert.reason == "safety" and alert.category in safety.CATEGORIES
    assert all(message not in details for details in audit_details)

    await make_staff(sessions, "tl@example.nl", ["teamleider"])
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await login(client, "km@example.nl")
    assert (await client.get("/console/safety")).status == 403, "only the designated role"
    client.session.cookie_jar.clear()
    await login(client, "tl@example.nl")
    page = await (await client.get("/console/safety")).text()
    assert "Open het gesprek" in page
    assert message not in page, "the list never quotes the message"
