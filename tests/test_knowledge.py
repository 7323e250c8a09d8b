"""The knowledge base: complete in eight languages, sourced, and matched well enough (the labelled
set in tests/kb_eval is the judge); personal answers; feedback and unanswered questions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from benchmarks.knowledge import OUT_OF_SCOPE, evaluate, load_eval
from bot.pipeline import Pipeline
from bot.settings import load_settings
from cases.db import transaction
from cases.models import ArticleEvent, UnansweredQuestion
from cases.services import appointments, identities
from dialogs import answers, engine
from dialogs.model import (
    AppointmentView,
    CaseView,
    Context,
    Inbound,
    RecordFeedback,
    RecordUnanswered,
    RequestHandoff,
    ShowArticle,
)
from locales.catalog import t
from locales.knowledge import base
from locales.languages import LANGUAGES
from tests.helpers import consented_identity, make_participant, make_staff

KB = base.default()
EVAL = load_eval()
PIP_QUESTION = KB.articles["pip"].text("nl").questions[0]  # an example the article itself gives


def test_knowledge_base_is_complete_and_sourced() -> None:
    assert len(KB.articles) >= 45
    assert base.problems(KB) == []
    assert set(KB.status) == set(LANGUAGES)


def test_problems_are_found() -> None:
    article = next(iter(KB.articles.values()))
    broken = base.KnowledgeBase(
        {
            article.id: base.Article(
                **{
                    **article.__dict__,
                    "source": "somewhere",
                    "follow_up": ("nope",),
                    "texts": {"nl": article.texts["nl"]},
                }
            )
        },
        KB.status,
    )
    found = "\n".join(base.problems(broken))
    assert "no seed source" in found and "follow-up 'nope'" in found and "missing in ar" in found


def test_sensitive_topics_always_offer_a_person() -> None:
    for topic in ("boete", "vrijstelling", "ontheffing", "verblijfsstatus", "naturalisatie"):
        assert all(a.offer_person for a in KB.by_topic(topic)), topic


def test_the_evaluation_set_is_big_enough() -> None:
    in_scope = [q for q in EVAL if q.label != OUT_OF_SCOPE]
    assert len(in_scope) >= 200
    for language in LANGUAGES:
        assert sum(q.language == language for q in in_scope) >= 20, language
        assert any(q.language == language and q.label == OUT_OF_SCOPE for q in EVAL), language
    assert {q.label for q in in_scope} <= set(KB.topics)


def _top1(language: str) -> float:
    return evaluate([q for q in EVAL if q.language == language])[language]["top1"]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_top1_accuracy_never_drops_below_the_floor(language: str) -> None:
    assert _top1(language) >= 0.80, f"{language}: top-1 {_top1(language):.1%}"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_top1_accuracy_meets_the_target(language: str) -> None:
    assert _top1(language) >= 0.90, f"{language}: top-1 {_top1(language):.1%}"


def test_out_of_scope_questions_get_a_safe_fallback() -> None:
    report = evaluate(EVAL)["all"]
    assert report["safe_fallback"] >= 0.95, f"safe fallback {report['safe_fallback']:.1%}"


def ask(text: str, language: str = "nl", case: CaseView | None = None):  # type: ignore[no-untyped-def]
    return engine.handle(
        Context(language=language, consented=True, state={"step": "menu"}, case=case), Inbound("text", text)
    )


def test_a_clear_question_is_answered_with_the_article_and_feedback_buttons() -> None:
    result = ask(PIP_QUESTION)
    assert result.intent == "kb.pip"
    assert result.replies[0].text.startswith(KB.articles["pip"].text("nl").short[:30])
    assert [b.payload for b in result.replies[-1].buttons] == ["fb:pip:1", "fb:pip:0"]
    assert ShowArticle("pip") in result.effects


def test_answers_come_in_the_person_language_with_dutch_for_staff() -> None:
    result = engine.handle(
        Context(language="ar", consented=True, state={"step": "menu"}), Inbound("button", payload="kb:tolk")
    )
    assert result.replies[0].text.startswith(KB.articles["tolk"].text("ar").short[:20])
    assert result.replies[0].dutch is not None and result.replies[0].dutch.startswith(
        KB.articles["tolk"].text("nl").short[:20]
    )


def test_fines_answer_generally_and_offer_a_person() -> None:
    result = engine.handle(
        Context(language="tr", consented=True, state={"step": "menu"}), Inbound("button", payload="kb:boete")
    )
    assert t("tr", "kb.general_only") in result.replies[0].text
    assert "person:boete" in [b.payload for b in result.replies[0].buttons]
    handed = engine.handle(
        Context(language="tr", consented=True, state=result.state), Inbound("button", payload="person:boete")
    )
    assert RequestHandoff("topic", "boete") in handed.effects and handed.state["step"] == "handoff"


def test_unclear_and_unknown_questions_are_kept_for_staff() -> None:
    nothing = ask("wat is de hoofdstad van peru en hoe laat is het daar")
    assert nothing.intent in ("kb.no_match", "kb.clarify")
    assert any(isinstance(e, RecordUnanswered) for e in nothing.effects)
    assert "menu:person" in [b.payload for r in nothing.replies for b in r.buttons]


def test_feedback_is_recorded() -> None:
    yes = engine.handle(
        Context(language="uk", consented=True, state={}), Inbound("button", payload="fb:pip:1")
    )
    assert RecordFeedback("pip", True) in yes.effects and yes.replies[0].text == t("uk", "kb.helpful.thanks")
    no = engine.handle(
        Context(language="uk", consented=True, state={}), Inbound("button", payload="fb:pip:0")
    )
    assert RecordFeedback("pip", False) in no.effects and "menu:person" in [
        b.payload for b in no.replies[0].buttons
    ]


def case_view(group: str, **extra) -> CaseView:  # type: ignore[no-untyped-def]
    return CaseView(first_name="Amina", target_group=group, **extra)


def test_costs_differ_for_statushouders_and_gezinsmigranten() -> None:
    status = engine.handle(
        Context(language="nl", consented=True, state={}, case=case_view("statushouder")),
        Inbound("button", payload="kb:kosten"),
    )
    family = engine.handle(
        Context(language="nl", consented=True, state={}, case=case_view("gezinsmigrant")),
        Inbound("button", payload="kb:kosten"),
    )
    assert status.replies[0].text == KB.articles["kosten-statushouder"].text("nl").short
    assert family.replies[0].text == KB.articles["kosten-gezinsmigrant"].text("nl").short
    unknown = engine.handle(
        Context(language="nl", consented=True, state={}), Inbound("button", payload="kb:kosten")
    )
    assert KB.articles["kosten-statushouder"].text("nl").title in unknown.replies[0].text
    assert KB.articles["kosten-gezinsmigrant"].text("nl").title in unknown.replies[0].text


def test_where_am_i_is_personal_once_linked() -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    linked = case_view(
        "statushouder",
        pip_signed_date=dt.date(2025, 1, 10),
        termijn_end=dt.date(2028, 1, 10),
        appointments=(AppointmentView("voortgangsgesprek", when, "Stadskantoor"),),
    )
    result = engine.handle(
        Context(language="en", consented=True, state={}, case=linked),
        Inbound("button", payload="kb:waar-sta-ik"),
    )
    text = result.replies[0].text
    assert "January 10, 2028" in text and "Progress meeting" in text
    assert result.replies[0].dutch is not None and "10 januari 2028" in result.replies[0].dutch
    before = case_view("gezinsmigrant", brp_date=dt.date(2026, 9, 1))
    result = engine.handle(
        Context(language="nl", consented=True, state={}, case=before),
        Inbound("button", payload="kb:waar-sta-ik"),
    )
    assert t("nl", "personal.phase.before_pip") in result.replies[0].text
    assert "10 november 2026" in result.replies[0].text  # BRP + 10 weeks
    unlinked = engine.handle(
        Context(language="nl", consented=True, state={}), Inbound("button", payload="kb:waar-sta-ik")
    )
    assert t("nl", "kb.link_for_personal") in unlinked.replies[0].text


def test_who_is_my_contact() -> None:
    linked = case_view("statushouder", klantmanager="Sanne de Vries", team="Team Noord")
    result = engine.handle(
        Context(language="nl", consented=True, state={}, case=linked),
        Inbound("button", payload="kb:contactpersoon"),
    )
    assert result.replies[0].text == t("nl", "personal.contact", name="Sanne de Vries", team="Team Noord")


async def test_articles_feedback_and_unanswered_land_in_the_database(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    identity = await consented_identity(sessions, "kb-user", "nl")
    await pipeline.accept(identity, external_id="q1", text=PIP_QUESTION, schedule=False)
    await pipeline.accept(identity, external_id="q2", kind="button", payload="fb:pip:0", schedule=False)
    await pipeline.accept(
        identity, external_id="q3", text="hoe laat vertrekt de trein naar utrecht", schedule=False
    )
    await pipeline.process(identity.id)
    async with sessions() as session:
        events = [
            (e.article_id, e.kind)
            for e in await session.scalars(select(ArticleEvent).order_by(ArticleEvent.id))
        ]
        unanswered = list(await session.scalars(select(UnansweredQuestion)))
    assert events == [("pip", "shown"), ("pip", "not_helpful")]
    assert len(unanswered) == 1 and unanswered[0].language == "nl"


async def test_personal_answers_through_the_pipeline(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"], team="Team Noord")
    participant = await make_participant(sessions, klantmanager=km, target_group="gezinsmigrant")
    async with transaction(sessions) as session:
        await appointments.create_appointment(
            session,
            load_settings().planning(),
            participant=participant,
            type_key="pip_gesprek",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
            location="Stadskantoor",
        )
        identity = await identities.get_or_create(session, "webchat", "linked-user")
        identities.set_language(identity, "nl")
        await identities.give_consent(session, identity)
        await identities.link(session, identity, participant.id, via="test")
    pipeline = Pipeline(sessions, settings)
    await pipeline.accept(
        identity, external_id="p1", kind="button", payload="kb:contactpersoon", schedule=False
    )
    await pipeline.accept(identity, external_id="p2", kind="button", payload="kb:kosten", schedule=False)
    turns = await pipeline.process(identity.id)
    assert [turn.intent for turn in turns] == ["kb.contactpersoon", "kb.kosten"]
    async with sessions() as session:
        from cases.models import Message

        texts = list(
            await session.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id))
        )
    assert texts[0] == t("nl", "personal.contact", name=km.name, team="Team Noord")
    assert texts[2] == KB.articles["kosten-gezinsmigrant"].text("nl").short


def test_the_questions_menu_offers_popular_topics() -> None:
    result = engine.handle(
        Context(language="so", consented=True, state={}), Inbound("button", payload="menu:questions")
    )
    payloads = [b.payload for b in result.replies[0].buttons]
    assert payloads[: len(answers.POPULAR)] == [f"kb:{topic}" for topic in answers.POPULAR]
    assert len(payloads) <= 10, "fits a WhatsApp list"


async def test_staff_see_review_status_feedback_and_unanswered_questions(client, sessions, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import login

    pipeline = Pipeline(sessions, settings)
    identity = await consented_identity(sessions, "asker", "tr")
    await pipeline.accept(identity, external_id="a", kind="button", payload="kb:tolk", schedule=False)
    await pipeline.accept(identity, external_id="b", kind="button", payload="fb:tolk:1", schedule=False)
    await pipeline.accept(identity, external_id="c", text="en yakın eczane nerede", schedule=False)
    await pipeline.process(identity.id)
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await login(client, "km@example.nl")
    page = await (await client.get("/console/knowledge")).text()
    assert KB.articles["tolk"].text("nl").title in page and "concept" in page
    assert "003_237a32c4de0db07f.txt" in page, "sources are shown"
    row = re.sub(r"\s+", "", page[page.index(KB.articles["tolk"].text("nl").title) :])
    assert "<td>1</td><td>1</td><td>0</td>" in row[: row.index("</tr>")], "shown once, helpful once"
    unanswered = await (await client.get("/console/knowledge/unanswered")).text()
    assert "en yakın eczane nerede" in unanswered


def test_ethiopic_words_also_match_by_consonant_skeleton() -> None:
    from dialogs.matcher import consonant_skeleton, features

    assert consonant_skeleton("ትምህርቲ") == "ተመሀረተ"  # "lesson": every syllable to its first-order form
    assert consonant_skeleton("ትምህርቲ") == consonant_skeleton("ተምሃሪ")[:3] + "ረተ"  # "student" shares the root
    assert consonant_skeleton("PIP") == "PIP"
    assert "ws:ተመሀረተ" in features("ትምህርቲ") and "ws:pip" not in features("PIP")
