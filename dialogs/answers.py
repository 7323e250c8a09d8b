"""Answers from the knowledge base: articles, personal answers, clarifying choices, feedback, safety.

Every text here is curated (an article or a catalog text in the person's language); the Dutch
version goes along for staff. Nothing is machine-translated.
"""

from __future__ import annotations

import datetime as dt

from dialogs import matcher as matching
from dialogs.model import (
    Button,
    CaseView,
    RaiseSafetyAlert,
    RecordFeedback,
    RecordUnanswered,
    RequestHandoff,
    ShowArticle,
)
from dialogs.safety import Signal
from dialogs.turn import Turn
from locales.catalog import format_local_datetime, t
from locales.knowledge import base

# Shown under "Questions about inburgering" (topic ids; at most 8 so a WhatsApp list fits with "Menu").
POPULAR = ("leerroutes", "pip", "inburgeringstermijn", "kosten", "verlenging", "boete", "tolk", "waar-sta-ik")
PIP_DUE = dt.timedelta(weeks=10)  # PIP within 10 weeks of BRP registration (003 L9826)
NOT_UNDERSTOOD_AFTER = 2  # questions in a row without an answer before a person takes over
VERLENGING_FROM = dt.timedelta(days=int(365.25 * 2.5))  # from 2.5 years into the termijn (003 L10785)


def kb() -> base.KnowledgeBase:
    return base.default()


def _title(article: base.Article, language: str) -> str:
    return article.text(language).title


def topic_button(turn: Turn, topic: str) -> Button:
    """A button that opens a topic (the variant that fits the person is chosen when tapped)."""
    article = kb().by_topic(topic)[0]
    return Button(_title(article, turn.lang), f"kb:{topic}")


def popular_buttons(turn: Turn) -> tuple[Button, ...]:
    return tuple(topic_button(turn, topic) for topic in POPULAR if kb().by_topic(topic))


def _variant(turn: Turn, articles: list[base.Article]) -> list[base.Article]:
    """The article(s) for this person: their audience when linked, every variant otherwise."""
    case = turn.ctx.case
    if len(articles) == 1:
        return articles
    if case is not None:
        own = [a for a in articles if a.audience == case.target_group]
        return own or [a for a in articles if a.audience == "all"] or articles
    return articles


def show(turn: Turn, key: str) -> None:
    """Answer with the article or topic ``key`` (``kb:`` payloads and matched questions)."""
    articles = [kb().articles[key]] if key in kb().articles else kb().by_topic(key)
    if not articles:
        turn.intent = "unknown"
        turn.say("fallback.unknown", turn.menu_buttons())
        return
    chosen = _variant(turn, articles)
    turn.intent = f"kb.{chosen[0].topic}"
    turn.state["step"] = "menu"
    first = chosen[0]
    if first.personal and turn.ctx.case is not None:
        _personal(turn, first, turn.ctx.case)
    else:
        parts = [(a.text(turn.lang), a.text("nl")) for a in chosen]
        if len(chosen) > 1:  # several audiences, person unknown: each part under its title
            text = "\n\n".join(f"{own.title}\n{own.short}" for own, _ in parts)
            dutch = "\n\n".join(f"{nl.title}\n{nl.short}" for _, nl in parts)
        else:
            text, dutch = parts[0][0].short, parts[0][1].short
        if first.personal:
            text += "\n\n" + t(turn.lang, "kb.link_for_personal")
            dutch += "\n\n" + t("nl", "kb.link_for_personal")
        elif first.offer_person:
            text += "\n\n" + t(turn.lang, "kb.general_only")
            dutch += "\n\n" + t("nl", "kb.general_only")
        turn.say_text(text, dutch, _article_buttons(turn, first))
    for article in chosen:
        turn.effects.append(ShowArticle(article.id))
    turn.say(
        "kb.helpful.question",
        (
            turn.button("kb.helpful.yes", f"fb:{first.id}:1"),
            turn.button("kb.helpful.no", f"fb:{first.id}:0"),
        ),
    )


def _article_buttons(turn: Turn, article: base.Article) -> tuple[Button, ...]:
    buttons: list[Button] = []
    if article.text(turn.lang).long:
        buttons.append(turn.button("kb.more", f"kbmore:{article.id}"))
    if article.offer_person:
        buttons.append(turn.button("menu.button.person", f"person:{article.id}"))
    for other in article.follow_up[: 3 - len(buttons)]:
        if other in kb().articles:
            buttons.append(Button(_title(kb().articles[other], turn.lang), f"kb:{other}"))
    return tuple(buttons)


def more(turn: Turn, article_id: str) -> None:
    """The longer part of an article."""
    article = kb().articles.get(article_id)
    if article is None or not article.text(turn.lang).long:
        show(turn, article_id)
        return
    turn.intent = f"kb.{article.topic}.more"
    buttons = tuple(
        Button(_title(kb().articles[o], turn.lang), f"kb:{o}")
        for o in article.follow_up[:2]
        if o in kb().articles
    )
    turn.say_text(article.text(turn.lang).long, article.text("nl").long, (*buttons, *turn.back_to_menu()))


def feedback(turn: Turn, article_id: str, helpful: bool) -> None:
    """'Did this help?' answered: record it and respond."""
    if article_id not in kb().articles:
        turn.menu()
        return
    turn.effects.append(RecordFeedback(article_id, helpful))
    turn.intent = "kb.feedback"
    if helpful:
        turn.say("kb.helpful.thanks", turn.back_to_menu())
    else:
        turn.say("kb.helpful.sorry", (turn.button("menu.button.person", "menu:person"), *turn.back_to_menu()))


def question(turn: Turn, text: str, match: matching.Match) -> None:
    """A typed question: answer, ask which topic, or say we have no answer (and keep the question)."""
    decision = match.decision
    if decision == "answer" and match.best is not None:
        turn.state["misses"] = 0
        show(turn, match.best[0])
        return
    turn.effects.append(RecordUnanswered(decision, match.ranked[:3]))
    turn.state["misses"] = int(turn.state.get("misses", 0)) + 1
    if turn.state["misses"] >= NOT_UNDERSTOOD_AFTER:  # again no answer: a person takes over
        turn.hand_over("not_understood", "person.not_understood")
        return
    turn.state["step"] = "menu"
    person = turn.button("menu.button.person", "menu:person")
    if decision == "clarify":
        turn.intent = "kb.clarify"
        choices = tuple(topic_button(turn, topic) for topic, _ in match.ranked[:3])
        turn.say("kb.clarify", (*choices, person))
    else:
        turn.intent = "kb.no_match"
        turn.say("kb.no_match", (*popular_buttons(turn)[:4], person))


def _personal(turn: Turn, article: base.Article, case: CaseView) -> None:
    if article.topic == "contactpersoon":
        key, params = _contact(case)
        turn.say(key, turn.back_to_menu(), **params)
        return
    text, dutch = (_status(case, lang, turn.ctx.timezone) for lang in (turn.lang, "nl"))
    turn.say_text(text, dutch, (topic_button(turn, "contactpersoon"), *turn.back_to_menu()))


def _status(case: CaseView, lang: str, timezone: str) -> str:
    """Where the person stands: phase, the date that matters next, and the next appointment."""
    lines = []
    if case.pip_signed_date is None:
        lines.append(t(lang, "personal.phase.before_pip"))
        if case.brp_date is not None:
            lines.append(t(lang, "personal.pip_deadline", date=_date(case.brp_date + PIP_DUE, lang)))
    else:
        lines.append(
            t(lang, "personal.phase.route", date=_date(case.termijn_end or case.pip_signed_date, lang))
        )
        if dt.datetime.now(dt.UTC).date() >= case.pip_signed_date + VERLENGING_FROM:
            lines.append(t(lang, "personal.verlenging_open"))
    if case.appointments:
        nxt = case.appointments[0]
        date, time = format_local_datetime(nxt.starts_at, lang, timezone)
        kind = t(lang, f"appointment_type.{nxt.type_key}")
        lines.append(t(lang, "personal.next_appointment", type=kind, date=date, time=time))
    else:
        lines.append(t(lang, "personal.no_appointment"))
    return "\n".join(lines)


def _contact(case: CaseView) -> tuple[str, dict[str, object]]:
    if not case.klantmanager:
        return "personal.contact_unknown", {}
    if case.team:
        return "personal.contact", {"name": case.klantmanager, "team": case.team}
    return "personal.contact_no_team", {"name": case.klantmanager}


def _date(day: dt.date, language: str) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale=language)


def safety(turn: Turn, signal: Signal) -> None:
    """Danger signalled: emergency numbers now, and a confidential alert for the designated role."""
    turn.intent = "safety"
    turn.escalated = True
    turn.effects.append(RaiseSafetyAlert(signal.category))
    turn.effects.append(RequestHandoff(reason="safety"))
    turn.say("safety.answer", turn.back_to_menu())
