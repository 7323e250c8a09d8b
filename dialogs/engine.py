"""The dialog engine: consent → language → main menu, and the flows behind the menu.

``handle`` turns one inbound message plus context into replies, a new state and effects. The pipeline
applies the effects; for a koppelcode attempt it calls ``link_result`` with the outcome.
"""

from __future__ import annotations

import datetime as dt

from cases.services.koppelcode import looks_like_code
from cases.services.koppelcode import normalise as normalise_code
from dialogs import answers, safety
from dialogs import appointments as appointment_flow
from dialogs import matcher as matching
from dialogs.model import (
    AttemptLink,
    Context,
    DeclineConsent,
    DialogResult,
    GiveConsent,
    Inbound,
    LinkStatus,
    RequestErasure,
)
from dialogs.turn import MENU_ITEMS, Turn
from dialogs.vocabulary import is_delete_request, is_greeting, is_menu_word, is_stop_word, normalise
from locales.catalog import all_texts, t
from locales.languages import DEFAULT_LANGUAGE, LANGUAGES, script_hint, supported


def _typed_payloads() -> dict[str, str]:
    """Button labels in every language → payload, so typing a label works like tapping it."""
    table: dict[str, str] = {}
    for item in MENU_ITEMS:
        for text in all_texts(f"menu.button.{item}").values():
            table[normalise(text)] = f"menu:{item}"
    for article in answers.kb().articles.values():
        for text in article.texts.values():
            table.setdefault(normalise(text.title), f"kb:{article.topic}")
    for text in all_texts("button.consent_yes").values():
        table[normalise(text)] = "consent:yes"
    for text in all_texts("button.consent_no").values():
        table[normalise(text)] = "consent:no"
    for code, lang in LANGUAGES.items():
        for name in (lang.native_name, *lang.native_name.split("/"), lang.dutch_name, code):
            table.setdefault(normalise(name), f"lang:{code}")
    return table


_PAYLOAD_BY_TEXT = _typed_payloads()


def _payload_of(inbound: Inbound) -> str | None:
    if inbound.kind == "button" and inbound.payload:
        return inbound.payload
    if inbound.kind == "text":
        return _PAYLOAD_BY_TEXT.get(normalise(inbound.text))
    return None


def handle(ctx: Context, inbound: Inbound) -> DialogResult:
    """Answer one inbound message."""
    turn = Turn(ctx)
    payload = _payload_of(inbound)
    signal = safety.detect(inbound.text) if inbound.kind == "text" else None
    if signal is not None:  # danger comes first: before consent, menus or questions
        if ctx.language is None:
            turn.set_language(script_hint(inbound.text) or supported(ctx.language_hint) or DEFAULT_LANGUAGE)
        answers.safety(turn, signal)
    elif not ctx.consented:
        _before_consent(turn, inbound, payload)
    else:
        _after_consent(turn, inbound, payload)
    return turn.result()


def _before_consent(turn: Turn, inbound: Inbound, payload: str | None) -> None:
    step = turn.state.get("step", "new")
    if inbound.kind == "start" and inbound.payload and inbound.payload.startswith("link:"):
        # A deep link with a koppelcode (QR on the letter): keep it until consent and language are done.
        turn.state["pending_code"] = inbound.payload[5:]
    if turn.ctx.language is None:
        guess = script_hint(inbound.text) or supported(turn.ctx.language_hint) or DEFAULT_LANGUAGE
        turn.set_language(guess)
    if payload == "consent:yes":
        turn.effects.append(GiveConsent())
        turn.state["step"] = "language"
        turn.intent = "consent_given"
        turn.language_screen("consent.thanks")
    elif payload == "consent:no":
        turn.effects.append(DeclineConsent())
        turn.state["step"] = "declined"
        turn.intent = "consent_declined"
        turn.say("consent.declined", (turn.button("button.consent_yes", "consent:yes"),))
    elif payload == "other_language":
        turn.intent = "choose_language"
        turn.language_screen()
    elif payload and payload.startswith("lang:") and payload[5:] in LANGUAGES:
        turn.set_language(payload[5:])
        turn.consent_screen()
    elif step == "declined":
        turn.intent = "consent_declined"
        turn.say("consent.declined", (turn.button("button.consent_yes", "consent:yes"),))
    else:
        hint = script_hint(inbound.text)
        if hint and hint != turn.lang and step != "new":
            turn.set_language(hint)  # they write in another script than we guessed: follow them
        turn.consent_screen()


def _after_consent(turn: Turn, inbound: Inbound, payload: str | None) -> None:
    step = turn.state.get("step", "menu")
    text = inbound.text.strip()
    if inbound.kind == "unsupported":
        turn.intent = "unsupported_message"
        turn.say("fallback.unsupported_message", turn.menu_buttons())
        return
    if payload == "menu" or (inbound.kind == "text" and is_menu_word(text)):
        turn.intent = "menu"
        turn.menu()
        return
    if payload and payload.startswith("lang:") and payload[5:] in LANGUAGES:
        turn.set_language(payload[5:])
        turn.intent = "language_changed"
        turn.say("language.changed")
        if pending := turn.state.pop("pending_code", None):
            turn.intent = "koppelcode"
            turn.effects.append(AttemptLink(pending))
            return
        turn.menu()
        return
    if inbound.kind == "start" and inbound.payload and inbound.payload.startswith("link:"):
        turn.intent = "koppelcode"
        turn.effects.append(AttemptLink(inbound.payload[5:]))
        return
    if payload and payload.startswith("menu:"):
        _menu_choice(turn, payload[5:])
        return
    if payload and payload.startswith("ap:"):
        appointment_flow.handle(turn, payload)
        return
    if payload and payload.startswith("doc:"):
        appointment_flow.handle_document(turn, payload)
        return
    if payload in ("privacy:ask", "privacy:delete", "privacy:keep") or (
        inbound.kind == "text" and is_delete_request(text)
    ):
        _privacy(turn, payload or "privacy:ask")
        return
    if payload in ("rem:stop", "rem:start") or (inbound.kind == "text" and is_stop_word(text)):
        appointment_flow.set_reminders(turn, payload == "rem:start")
        return
    if payload and payload.startswith("person:"):  # "talk to a person" under an article
        turn.hand_over("topic", topic=payload[7:60] or None)
        return
    if payload and payload.startswith("kb:"):
        answers.show(turn, payload[3:])
        return
    if payload and payload.startswith("kbmore:"):
        answers.more(turn, payload[7:])
        return
    if payload and payload.startswith("fb:"):
        article_id, _, verdict = payload[3:].rpartition(":")
        answers.feedback(turn, article_id, verdict == "1")
        return
    if payload in ("consent:yes", "consent:no", "other_language"):
        # An old consent button tapped again: consent stands; offer the language choice or menu.
        if payload == "other_language":
            turn.intent = "choose_language"
            turn.language_screen()
        else:
            turn.menu()
        return
    if step == "await_code" and inbound.kind == "text" and _could_be_code(text):
        turn.intent = "koppelcode"
        turn.effects.append(AttemptLink(text))
        return
    if step == "handoff" and inbound.kind == "text":
        turn.intent = "handoff_message"
        turn.escalated = True
        turn.say("person.waiting", turn.back_to_menu())
        return
    if inbound.kind == "text" and looks_like_code(text):
        turn.intent = "koppelcode"
        turn.effects.append(AttemptLink(text))
        return
    if inbound.kind == "start" or (inbound.kind == "text" and is_greeting(text)):
        turn.intent = "greeting"
        turn.menu("menu.greeting")
        return
    if step == "language" and not text:
        turn.intent = "choose_language"
        turn.language_screen()
        return
    if inbound.kind == "text" and text and _has_keyword(text, turn.ctx.keywords):
        turn.hand_over("keyword")
        return
    if inbound.kind == "text" and text:
        if inbound.dutch:  # written in a language we do not speak: match its Dutch translation
            answers.question(turn, text, matching.default().match(inbound.dutch, "nl"))
        else:
            answers.question(turn, text, matching.default().match(text, turn.lang))
        return
    turn.intent = "unknown"
    turn.state["step"] = "menu"
    turn.say("fallback.unknown", turn.menu_buttons())


def _privacy(turn: Turn, payload: str) -> None:
    """ "Delete my data": confirm first, then the request goes to staff (answered with the deadline)."""
    turn.state["step"] = "menu"
    if payload == "privacy:delete":
        turn.intent = "privacy.delete"
        turn.effects.append(RequestErasure())
    elif payload == "privacy:keep":
        turn.intent = "privacy.keep"
        turn.say("privacy.kept", turn.back_to_menu())
    else:
        turn.intent = "privacy.confirm"
        turn.say(
            "privacy.delete_confirm",
            (
                turn.button("privacy.button.delete", "privacy:delete"),
                turn.button("privacy.button.keep", "privacy:keep"),
            ),
        )


def erasure_requested(ctx: Context, deadline: dt.date) -> DialogResult:
    """The request is with staff: tell the person by when it is handled."""
    from babel.dates import format_date

    turn = Turn(ctx)
    turn.intent = "privacy.delete"
    turn.say(
        "privacy.delete_requested", turn.back_to_menu(), date=format_date(deadline, "long", locale=turn.lang)
    )
    return turn.result()


def _has_keyword(text: str, keywords: tuple[str, ...]) -> bool:
    """A staff-configured phrase appears in the text (whole words, case and accents ignored)."""
    words = f" {normalise(text)} "
    return any(f" {normalise(k)} " in words for k in keywords if normalise(k))


def _could_be_code(text: str) -> bool:
    """In the code step, any 6–12 letters and digits count as an attempt (a mistyped code too)."""
    code = normalise_code(text)
    return 6 <= len(code) <= 12 and code.isascii() and code.isalnum()


def _menu_choice(turn: Turn, item: str) -> None:
    turn.intent = f"menu.{item}"
    turn.state["step"] = "menu"
    case = turn.ctx.case
    if item == "appointments":
        appointment_flow.show_list(turn)
        turn.intent = "menu.appointments"
    elif item == "documents":
        appointment_flow.documents(turn)
        turn.intent = "menu.documents"
    elif item == "questions":
        turn.say("questions.intro", (*answers.popular_buttons(turn), *turn.back_to_menu()))
    elif item == "person":
        turn.hand_over("person_requested")
        turn.intent = "menu.person"
    elif item == "language":
        turn.intent = "choose_language"
        turn.state["step"] = "language"
        turn.language_screen()
    elif item == "privacy":
        turn.say(
            "privacy.notice",
            (turn.button("privacy.button.delete", "privacy:ask"), *turn.back_to_menu()),
        )
    elif item == "koppelcode":
        if case is not None:
            turn.say("koppelcode.already_linked", turn.back_to_menu())
        else:
            turn.state["step"] = "await_code"
            turn.say("koppelcode.prompt", turn.back_to_menu())
    else:
        turn.intent = "unknown"
        turn.say("fallback.unknown", turn.menu_buttons())


def label_for(payload: str, language: str) -> str | None:
    """The curated label of a button payload in ``language`` (to show staff a tap in Dutch)."""
    kind, _, value = payload.partition(":")
    if kind == "menu" and value in MENU_ITEMS:
        return t(language, f"menu.button.{value}")
    if payload == "menu":
        return t(language, "menu.button.menu")
    if kind == "person":
        return t(language, "menu.button.person")
    if kind == "privacy" and value in ("ask", "delete", "keep"):
        return t(language, "privacy.button.keep" if value == "keep" else "privacy.button.delete")
    if kind in ("kb", "kbmore") and (articles := _articles_for(value)):
        return articles[0].text(language).title
    if kind == "consent" and value in ("yes", "no"):
        return t(language, f"button.consent_{value}")
    if payload == "other_language":
        return t(language, "button.other_language")
    if kind == "lang" and value in LANGUAGES:
        return LANGUAGES[value].dutch_name if language == "nl" else LANGUAGES[value].native_name
    return _appointment_label(payload, language)


_AP_LABELS = {
    "ok": "appointments.button.confirm",
    "cancel": "appointments.button.cancel",
    "move": "appointments.button.move",
    "tolk": "appointments.button.tolk",
    "ics": "appointments.button.calendar",
    "show": "appointments.choose",
}


def _appointment_label(payload: str, language: str) -> str | None:
    parts = payload.split(":")
    if parts[0] == "ap" and len(parts) >= 3:
        if parts[1] == "why" and len(parts) == 4 and parts[3] in appointment_flow.CANCEL_REASONS:
            return t(language, f"appointments.reason.{parts[3]}")
        if parts[1] == "slot":
            return t(language, "appointments.slots.choose")
        if parts[1] in _AP_LABELS:
            return t(language, _AP_LABELS[parts[1]])
    if parts[0] == "doc" and len(parts) >= 2:
        return t(
            language,
            {"have": "documents.button.have", "help": "documents.button.help"}.get(
                parts[1], "documents.button.list"
            ),
        )
    if payload == "rem:start":
        return t(language, "reminders.button.start")
    return None


def _articles_for(key: str) -> list:  # type: ignore[type-arg]
    kb = answers.kb()
    return [kb.articles[key]] if key in kb.articles else kb.by_topic(key)


def notice(ctx: Context, key: str, intent: str, **params: object) -> DialogResult:
    """A one-line answer outside the dialog flow (too long, too many messages), state unchanged."""
    turn = Turn(ctx)
    turn.intent = intent
    turn.say(key, turn.back_to_menu(), **params)
    return turn.result()


def link_result(
    ctx: Context, status: LinkStatus, *, first_name: str = "", retry_minutes: int = 0
) -> DialogResult:
    """The replies after a koppelcode attempt, given what the case said about it."""
    turn = Turn(ctx)
    turn.intent = "koppelcode"
    if status == "linked":
        turn.state["step"] = "menu"
        turn.say("koppelcode.success", name=first_name)
        turn.menu()
    elif status == "already_linked":
        turn.say("koppelcode.already_linked")
        turn.menu()
    elif status == "rate_limited":
        turn.state["step"] = "menu"
        turn.say("koppelcode.rate_limited", turn.back_to_menu(), minutes=retry_minutes)
    else:
        turn.state["step"] = "await_code"
        turn.say("koppelcode.invalid", turn.back_to_menu())
    return turn.result()
