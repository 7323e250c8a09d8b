"""The dialog engine on its own: consent, language, menu, linking replies, no personal data unlinked."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.engine import MENU_ITEMS, handle, link_result
from dialogs.model import (
    AppointmentView,
    AttemptLink,
    CaseView,
    Context,
    DeclineConsent,
    GiveConsent,
    Inbound,
    RequestHandoff,
    SetLanguage,
)
from locales.catalog import t
from locales.languages import LANGUAGES


def new_user(**kw: object) -> Context:
    return Context(language=None, consented=False, state={}, **kw)  # type: ignore[arg-type]


def consented(lang: str = "nl", case: CaseView | None = None, step: str = "menu") -> Context:
    return Context(language=lang, consented=True, state={"step": step}, case=case)


def text(s: str) -> Inbound:
    return Inbound("text", s)


def tap(payload: str) -> Inbound:
    return Inbound("button", payload=payload)


def payloads(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.payload for r in result.replies for b in r.buttons]


def test_first_contact_shows_privacy_notice_and_asks_consent() -> None:
    result = handle(new_user(), Inbound("start"))
    assert result.intent == "consent_request"
    assert result.state["step"] == "consent"
    assert t("nl", "consent.notice") in [r.text for r in result.replies]
    assert {"consent:yes", "consent:no", "other_language"} <= set(payloads(result))
    assert SetLanguage("nl") in result.effects


@pytest.mark.parametrize(
    ("greeting", "lang"), [("مرحبا", "ar"), ("ሰላም", "ti"), ("привіт", "uk"), ("سلام، چطور هستید؟ پیام", "fa")]
)
def test_first_contact_guesses_language_from_the_script(greeting: str, lang: str) -> None:
    result = handle(new_user(), text(greeting))
    assert result.language == lang
    assert result.replies[-1].text == t(lang, "consent.question")


def test_browser_language_is_used_when_the_text_gives_no_hint() -> None:
    result = handle(new_user(language_hint="tr-TR"), Inbound("start"))
    assert result.language == "tr"


def test_consent_then_language_then_menu() -> None:
    step1 = handle(new_user(), tap("consent:yes"))
    assert GiveConsent() in step1.effects
    assert step1.state["step"] == "language"
    assert [b.payload for b in step1.replies[-1].buttons] == [f"lang:{c}" for c in LANGUAGES]
    assert [b.label for b in step1.replies[-1].buttons][2] == "العربية"

    ctx = Context(language="nl", consented=True, state=step1.state)
    step2 = handle(ctx, tap("lang:ar"))
    assert SetLanguage("ar") in step2.effects
    assert step2.language == "ar"
    assert step2.replies[0].text == t("ar", "language.changed")
    assert step2.replies[0].dutch == t("nl", "language.changed")
    assert [b.payload for b in step2.replies[-1].buttons] == [f"menu:{i}" for i in MENU_ITEMS]


def test_declining_consent_is_respected_and_can_be_undone() -> None:
    result = handle(new_user(), tap("consent:no"))
    assert DeclineConsent() in result.effects
    assert result.state["step"] == "declined"
    again = handle(Context(language="nl", consented=False, state=result.state), text("wat is het PIP"))
    assert again.intent == "consent_declined"
    assert "consent:yes" in payloads(again)


def test_typing_a_button_label_works_like_tapping_it() -> None:
    result = handle(consented("tr"), text("randevularım"))
    assert result.intent == "menu.appointments", "typed Turkish label 'Randevularım' should match"


def test_other_language_before_consent_shows_the_notice_in_that_language() -> None:
    step = handle(new_user(), tap("other_language"))
    assert [b.payload for b in step.replies[-1].buttons][0] == "lang:nl"
    chosen = handle(Context(language="nl", consented=False, state=step.state), tap("lang:so"))
    assert chosen.language == "so"
    assert t("so", "consent.notice") in [r.text for r in chosen.replies]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_menu_item_answers_in_every_language(lang: str) -> None:
    for item in MENU_ITEMS:
        result = handle(consented(lang), tap(f"menu:{item}"))
        assert result.replies, f"{lang}: menu:{item} gave no reply"
        assert result.language == lang


def test_unlinked_user_gets_no_personal_data() -> None:
    result = handle(consented("en"), tap("menu:appointments"))
    assert result.replies[0].text == t("en", "appointments.unlinked")
    assert "menu:koppelcode" in payloads(result)


def test_linked_user_sees_appointments_in_their_language_and_time_zone() -> None:
    when = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)  # 10:30 in Amsterdam
    case = CaseView("Amina", (AppointmentView("pip_gesprek", when, "Stadskantoor"),))
    result = handle(consented("ar", case), tap("menu:appointments"))
    reply = result.replies[0].text
    assert t("ar", "appointment_type.pip_gesprek") in reply
    assert "10:30" in reply and "Stadskantoor" in reply
    assert "ديسمبر" in reply  # December, in Arabic
    assert "donderdag 3 december 2026" in (result.replies[0].dutch or "")
    assert "menu:koppelcode" not in payloads(handle(consented("ar", case), text("menu")))


def test_linked_user_without_appointments_is_told_so() -> None:
    result = handle(consented("nl", CaseView("Amina")), tap("menu:appointments"))
    assert result.replies[0].text == t("nl", "appointments.none")


def test_code_shaped_text_is_a_link_attempt_anywhere() -> None:
    result = handle(consented(), text("kx7p 4m2w"))
    assert result.effects == [AttemptLink("kx7p 4m2w")]
    assert result.replies == []


def test_words_are_not_mistaken_for_codes() -> None:
    effects = handle(consented(), text("AFSPRAAK")).effects
    assert not any(isinstance(e, AttemptLink) for e in effects)


def test_after_choosing_koppelcode_any_text_is_tried() -> None:
    prompt = handle(consented(), tap("menu:koppelcode"))
    assert prompt.state["step"] == "await_code"
    attempt = handle(consented(step="await_code"), text("ABCDEFGH"))
    assert attempt.effects == [AttemptLink("ABCDEFGH")]


@pytest.mark.parametrize(
    ("status", "key"),
    [
        ("linked", "koppelcode.success"),
        ("invalid", "koppelcode.invalid"),
        ("rate_limited", "koppelcode.rate_limited"),
        ("already_linked", "koppelcode.already_linked"),
    ],
)
def test_link_results(status: str, key: str) -> None:
    result = link_result(consented("uk"), status, first_name="Olena", retry_minutes=15)  # type: ignore[arg-type]
    expected = t("uk", key, name="Olena", minutes=15) if "{" in t("nl", key) else t("uk", key)
    assert result.replies[0].text == expected


def test_talk_to_a_person_escalates_and_follow_up_text_is_passed_on() -> None:
    result = handle(consented(), tap("menu:person"))
    assert RequestHandoff() in result.effects and result.escalated
    follow = handle(consented(step="handoff"), text("Ik heb een vraag over mijn boete"))
    assert follow.intent == "handoff_message" and follow.escalated
    back = handle(consented(step="handoff"), text("menu"))
    assert back.state["step"] == "menu"


@pytest.mark.parametrize(
    ("greeting", "lang"),
    [
        ("hallo", "nl"),
        ("Hello!", "en"),
        ("مرحبا", "ar"),
        ("ሰላም", "ti"),
        ("سلام", "fa"),
        ("Merhaba", "tr"),
        ("Привіт", "uk"),
        ("Iska warran", "so"),
    ],
)
def test_greetings_in_every_language(greeting: str, lang: str) -> None:
    result = handle(consented(lang), text(greeting))
    assert result.intent == "greeting"
    assert result.replies[0].text == t(lang, "menu.greeting")


@pytest.mark.parametrize(
    "junk", ["", "   ", "?" * 500, "\x00\x1b[31m", "😀🎉", "<script>alert(1)</script>", "x" * 5000]
)
def test_unknown_input_gets_a_helpful_answer(junk: str) -> None:
    result = handle(consented("fa"), text(junk))
    assert result.replies
    assert result.language == "fa"


def test_unsupported_message_kind_is_explained() -> None:
    result = handle(consented("so"), Inbound("unsupported"))
    assert result.replies[0].text == t("so", "fallback.unsupported_message")


def test_state_is_not_mutated_in_place() -> None:
    state = {"step": "menu"}
    handle(Context(language="nl", consented=True, state=state), tap("menu:koppelcode"))
    assert state == {"step": "menu"}
