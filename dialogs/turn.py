"""One turn of the conversation: the replies, effects and new state it builds up."""

from __future__ import annotations

from typing import Any

from dialogs.model import Button, Context, DialogResult, Reply, SetLanguage
from locales.catalog import t
from locales.languages import DEFAULT_LANGUAGE, LANGUAGES

MENU_ITEMS = ("appointments", "documents", "questions", "person", "language", "koppelcode", "privacy")


class Turn:
    """One turn of the conversation: collects replies, effects and the new state."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lang = ctx.language or DEFAULT_LANGUAGE
        self.state: dict[str, Any] = dict(ctx.state)
        self.replies: list[Reply] = []
        self.effects: list[Any] = []
        self.intent = "unknown"
        self.escalated = False

    def say(self, key: str, buttons: tuple[Button, ...] = (), **params: object) -> None:
        """Reply with the catalog text ``key`` (its Dutch version kept for staff)."""
        dutch = t("nl", key, **params) if self.lang != "nl" else None
        self.replies.append(Reply(t(self.lang, key, **params), buttons, dutch))

    def say_text(self, text: str, dutch: str, buttons: tuple[Button, ...] = ()) -> None:
        """Reply with curated text that is not a catalog key (an article, a composed answer)."""
        self.replies.append(Reply(text, buttons, dutch if self.lang != "nl" else None))

    def button(self, key: str, payload: str) -> Button:
        return Button(t(self.lang, key), payload)

    def set_language(self, code: str) -> None:
        self.lang = code
        self.effects.append(SetLanguage(code))

    def result(self) -> DialogResult:
        return DialogResult(self.replies, self.state, self.lang, self.intent, self.effects, self.escalated)

    # Screens -----------------------------------------------------------------------------------
    def consent_screen(self) -> None:
        self.state["step"] = "consent"
        self.intent = "consent_request"
        self.say("welcome")
        self.say("consent.notice")
        self.say(
            "consent.question",
            (
                self.button("button.consent_yes", "consent:yes"),
                self.button("button.consent_no", "consent:no"),
                self.button("button.other_language", "other_language"),
            ),
        )

    def language_screen(self, key: str = "language.choose") -> None:
        self.say(key, tuple(Button(lang.native_name, f"lang:{code}") for code, lang in LANGUAGES.items()))

    def menu_buttons(self) -> tuple[Button, ...]:
        items = [i for i in MENU_ITEMS if not (i == "koppelcode" and self.ctx.case is not None)]
        return tuple(self.button(f"menu.button.{i}", f"menu:{i}") for i in items)

    def menu(self, key: str = "menu.intro") -> None:
        self.state["step"] = "menu"
        self.say(key, self.menu_buttons())

    def hand_over(self, reason: str, key: str = "person.requested", topic: str | None = None) -> None:
        """Bring in a staff member: say so, and when an answer can be expected."""
        from dialogs.model import RequestHandoff
        from locales.catalog import format_local_datetime

        self.state["step"] = "handoff"
        self.state["misses"] = 0
        self.effects.append(RequestHandoff(reason, topic))
        self.escalated = True
        self.intent = f"handoff.{reason}"
        if self.ctx.office_open or self.ctx.office_opens is None:
            expect = ("person.expect.open", {"hours": self.ctx.response_hours})
        else:
            expect = ("person.expect.closed", {})

        def build(lang: str) -> str:
            params = dict(expect[1])
            if expect[0] == "person.expect.closed":
                date, time = format_local_datetime(self.ctx.office_opens, lang, self.ctx.timezone)  # type: ignore[arg-type]
                params["when"] = f"{date} {time}"
            return t(lang, key) + "\n" + t(lang, expect[0], **params)

        text = build(self.lang)
        self.replies.append(Reply(text, self.back_to_menu(), build("nl") if self.lang != "nl" else None))

    def back_to_menu(self) -> tuple[Button, ...]:
        return (self.button("menu.button.menu", "menu"),)
