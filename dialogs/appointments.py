"""Appointments, documents and reminders in the chat: show, confirm, cancel with a reason, choose a
new time, ask for a tolk, add to the calendar; mark documents; stop or restart reminders.

Payloads (also on reminder buttons, so a tap works whatever the conversation was doing):
``ap:show|ok|cancel|move|tolk|ics:<id>``, ``ap:why:<id>:<reason>``, ``ap:slot:<id>:<slot>``,
``doc:list``, ``doc:item|have|help:<item>``, ``rem:stop``, ``rem:start``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dialogs.model import (
    AppointmentView,
    BookSlot,
    Button,
    CancelAppointment,
    ConfirmAppointment,
    Context,
    DialogResult,
    DocumentView,
    MarkDocument,
    OfferSlots,
    Reply,
    RequestTolk,
    SetReminders,
    SlotView,
)
from dialogs.turn import Turn
from locales.catalog import format_local_datetime, format_short_datetime, sentence, t
from locales.languages import LANGUAGES

CANCEL_REASONS = ("ill", "work", "childcare", "other_appointment", "other")
MAX_LISTED = 9  # WhatsApp lists hold 10 rows; one is "menu"


def _compose(turn: Turn, build, buttons: tuple[Button, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    """A reply composed of several catalog texts, in the person's language and in Dutch for staff."""
    text = build(turn.lang)
    dutch = build("nl") if turn.lang != "nl" else None
    turn.replies.append(Reply(text, buttons, dutch))


def where(lang: str, appt: AppointmentView) -> str:
    """Where the appointment is, in ``lang``."""
    return t(lang, f"appointments.where.{appt.location_kind}", location=appt.location or "—")


def describe(lang: str, appt: AppointmentView, documents: tuple[DocumentView, ...], zone: str) -> str:
    """The full description of one appointment (type, time, place, tolk, what to bring)."""
    date, time = format_local_datetime(appt.starts_at, lang, zone)
    lines = [
        t(
            lang,
            "appointments.detail",
            type=t(lang, f"appointment_type.{appt.type_key}"),
            date=date,
            time=time,
            minutes=appt.duration_minutes,
            where=where(lang, appt),
        )
    ]
    items = [d for d in documents if d.appointment_id == appt.id]
    if items:
        lines.append(
            t(lang, "appointments.bring", items=", ".join(t(lang, f"document.{d.item_key}") for d in items))
        )
    if appt.tolk_needed:
        lines.append(t(lang, "appointments.tolk_note"))
    if appt.confirmed:
        lines.append(t(lang, "appointments.confirmed_note"))
    return "\n".join(lines)


def show_list(turn: Turn) -> None:
    """'My appointments': one appointment in full, or a choice between several."""
    turn.intent = "appointments.list"
    case = turn.ctx.case
    if case is None:
        turn.say("appointments.unlinked", (turn.button("menu.button.koppelcode", "menu:koppelcode"),))
    elif not case.appointments:
        turn.say("appointments.none", turn.back_to_menu())
    elif len(case.appointments) == 1:
        details(turn, case.appointments[0])
    else:

        def build(lang: str) -> str:
            lines = [t(lang, "appointments.header")]
            for appt in case.appointments:
                date, time = format_local_datetime(appt.starts_at, lang, turn.ctx.timezone)
                kind = t(lang, f"appointment_type.{appt.type_key}")
                lines.append(
                    t(lang, "appointments.item", type=kind, date=date, time=time, location=where(lang, appt))
                )
            lines.append(t(lang, "appointments.choose"))
            return "\n".join(lines)

        buttons = tuple(
            Button(_short_label(turn.lang, a, turn.ctx.timezone), f"ap:show:{a.id}")
            for a in case.appointments[:MAX_LISTED]
        )
        _compose(turn, build, (*buttons, *turn.back_to_menu()))


def _short_label(lang: str, appt: AppointmentView, zone: str) -> str:
    local = appt.starts_at.astimezone(ZoneInfo(zone))
    return f"{local:%d-%m %H:%M} {t(lang, f'appointment_type.{appt.type_key}')}"[:24]


def details(turn: Turn, appt: AppointmentView) -> None:
    """One appointment in full, with what the person can do about it."""
    turn.intent = "appointments.details"
    case = turn.ctx.case
    assert case is not None
    buttons = []
    if not appt.confirmed:
        buttons.append(turn.button("appointments.button.confirm", f"ap:ok:{appt.id}"))
    buttons.append(turn.button("appointments.button.move", f"ap:move:{appt.id}"))
    buttons.append(turn.button("appointments.button.cancel", f"ap:cancel:{appt.id}"))
    if not appt.tolk_needed:
        buttons.append(turn.button("appointments.button.tolk", f"ap:tolk:{appt.id}"))
    if appt.calendar_url:
        buttons.append(turn.button("appointments.button.calendar", f"ap:ics:{appt.id}"))
    if any(d.appointment_id == appt.id for d in case.documents):
        buttons.append(turn.button("appointments.button.documents", "doc:list"))
    _compose(
        turn,
        lambda lang: describe(lang, appt, case.documents, turn.ctx.timezone),
        (*buttons, *turn.back_to_menu()),
    )


def handle(turn: Turn, payload: str) -> None:
    """An ``ap:`` payload (from the appointment screens or a reminder)."""
    action, _, rest = payload[3:].partition(":")
    ident, _, extra = rest.partition(":")
    case = turn.ctx.case
    turn.state["step"] = "menu"
    if case is None:
        show_list(turn)
        return
    if not ident.isdigit():
        show_list(turn)
        return
    appointment_id = int(ident)
    if action == "move":  # also for a missed appointment (the pipeline checks it is theirs)
        turn.intent = "appointments.move"
        turn.effects.append(OfferSlots(appointment_id))
        return
    if action == "slot" and extra.isdigit():
        turn.intent = "appointments.book"
        turn.effects.append(BookSlot(appointment_id, int(extra)))
        return
    appt = case.appointment(appointment_id)
    if appt is None:
        turn.intent = "appointments.not_found"
        turn.say("appointments.not_found", (turn.button("menu.button.appointments", "menu:appointments"),))
        return
    if action == "show":
        details(turn, appt)
    elif action == "ok":
        turn.intent = "appointments.confirm"
        turn.effects.append(ConfirmAppointment(appt.id))
        buttons = (
            (turn.button("appointments.button.calendar", f"ap:ics:{appt.id}"),) if appt.calendar_url else ()
        )
        _confirmed(turn, appt, buttons)
    elif action == "cancel":
        turn.intent = "appointments.cancel_reason"
        reasons = tuple(
            turn.button(f"appointments.reason.{r}", f"ap:why:{appt.id}:{r}") for r in CANCEL_REASONS
        )
        turn.say(
            "appointments.cancel.ask",
            (
                *reasons,
                turn.button("appointments.button.move", f"ap:move:{appt.id}"),
                turn.button("appointments.button.keep", f"ap:show:{appt.id}"),
            ),
        )
    elif action == "why":
        turn.intent = "appointments.cancel"
        reason = extra if extra in CANCEL_REASONS else "other"
        turn.effects.append(CancelAppointment(appt.id, reason))
        turn.say("appointments.cancelled", turn.back_to_menu())
    elif action == "tolk":
        turn.intent = "appointments.tolk"
        turn.effects.append(RequestTolk(appt.id))
        _compose(
            turn,
            lambda lang: t(
                lang, "appointments.tolk_requested", tolk_language=_language_name(lang, turn.lang)
            ),
            (turn.button("appointments.button.documents", "doc:list"), *turn.back_to_menu()),
        )
    elif action == "ics" and appt.calendar_url:
        turn.intent = "appointments.calendar"
        turn.say("appointments.calendar", turn.back_to_menu(), url=appt.calendar_url)
    else:
        details(turn, appt)


def _confirmed(turn: Turn, appt: AppointmentView, buttons: tuple[Button, ...]) -> None:
    def build(lang: str) -> str:
        date, time = format_local_datetime(appt.starts_at, lang, turn.ctx.timezone)
        return t(lang, "appointments.confirmed", date=date, time=time)

    _compose(turn, build, (*buttons, *turn.back_to_menu()))


def _language_name(lang: str, spoken: str) -> str:
    language = LANGUAGES[spoken]
    return language.dutch_name if lang == "nl" else language.native_name


def slots_offer(
    ctx: Context, appointment_id: int, slots: tuple[SlotView, ...], *, taken: bool = False
) -> DialogResult:
    """The free times to choose from (after 'another time'), or why there are none."""
    turn = Turn(ctx)
    turn.intent = "appointments.slots"
    if not slots:
        turn.say("appointments.slots.none", turn.back_to_menu())
        return turn.result()
    buttons = tuple(
        Button(
            format_short_datetime(slot.starts_at, turn.lang, ctx.timezone),
            f"ap:slot:{appointment_id}:{slot.id}",
        )
        for slot in slots[:MAX_LISTED]
    )
    turn.say(
        "appointments.slots.taken" if taken else "appointments.slots.choose", (*buttons, *turn.back_to_menu())
    )
    return turn.result()


def booking_result(ctx: Context, appointment: AppointmentView) -> DialogResult:
    """The appointment has its new time."""
    turn = Turn(ctx)
    turn.intent = "appointments.moved"

    def build(lang: str) -> str:
        date, time = format_local_datetime(appointment.starts_at, lang, ctx.timezone)
        return t(lang, "appointments.moved", date=date, time=time)

    buttons = (
        (turn.button("appointments.button.calendar", f"ap:ics:{appointment.id}"),)
        if appointment.calendar_url
        else ()
    )
    _compose(turn, build, (*buttons, *turn.back_to_menu()))
    return turn.result()


def not_found(ctx: Context) -> DialogResult:
    """An appointment the pipeline could not find for this person (gone, or not theirs)."""
    turn = Turn(ctx)
    turn.intent = "appointments.not_found"
    turn.say("appointments.not_found", (turn.button("menu.button.appointments", "menu:appointments"),))
    return turn.result()


# Documents ------------------------------------------------------------------------------------
def documents(turn: Turn) -> None:
    """The person's document checklist (general advice when the chat is not linked)."""
    turn.intent = "documents.list"
    case = turn.ctx.case
    if case is None:
        turn.say(
            "documents.general",
            (turn.button("menu.button.koppelcode", "menu:koppelcode"), *turn.back_to_menu()),
        )
        return
    if not case.documents:
        turn.say("documents.none", turn.back_to_menu())
        return

    def build(lang: str) -> str:
        lines = [t(lang, "documents.header")]
        for doc in case.documents:
            lines.append(
                t(
                    lang,
                    "documents.line",
                    name=t(lang, f"document.{doc.item_key}"),
                    status=t(lang, f"documents.status.{doc.status}"),
                )
            )
        lines.append(t(lang, "documents.choose"))
        return "\n".join(lines)

    open_docs = [d for d in case.documents if d.status != "verified"][:MAX_LISTED]
    buttons = tuple(
        Button(t(turn.lang, f"document.{d.item_key}")[:24], f"doc:item:{d.id}") for d in open_docs
    )
    _compose(turn, build, (*buttons, *turn.back_to_menu()))


def handle_document(turn: Turn, payload: str) -> None:
    """A ``doc:`` payload."""
    action, _, ident = payload[4:].partition(":")
    case = turn.ctx.case
    turn.state["step"] = "menu"
    doc = next((d for d in case.documents if str(d.id) == ident), None) if case else None
    if action == "list" or doc is None:
        documents(turn)
        return
    if action == "item":
        turn.intent = "documents.ask"
        turn.say(
            "documents.ask",
            (
                turn.button("documents.button.have", f"doc:have:{doc.id}"),
                turn.button("documents.button.help", f"doc:help:{doc.id}"),
                turn.button("documents.button.list", "doc:list"),
            ),
            name=t(turn.lang, f"document.{doc.item_key}"),
        )
        return
    status = "have" if action == "have" else "need_help"
    turn.intent = f"documents.{status}"
    turn.effects.append(MarkDocument(doc.id, status))
    _compose(
        turn,
        lambda lang: t(
            lang,
            "documents.marked_have" if status == "have" else "documents.marked_help",
            name=t(lang, f"document.{doc.item_key}"),
        ),
        (turn.button("documents.button.list", "doc:list"), *turn.back_to_menu()),
    )


# Reminders ------------------------------------------------------------------------------------
def set_reminders(turn: Turn, on: bool) -> None:
    """'STOP' (no more reminders) or the button to get them again."""
    turn.intent = "reminders.on" if on else "reminders.stop"
    if turn.ctx.case is None:
        turn.say("reminders.unlinked", turn.back_to_menu())
        return
    turn.effects.append(SetReminders(on))
    if on:
        turn.say("reminders.started", turn.back_to_menu())
    else:
        turn.say(
            "reminders.stopped", (turn.button("reminders.button.start", "rem:start"), *turn.back_to_menu())
        )


def reminder_reply(
    lang: str, rule: str, kind: str, appt: AppointmentView | None, zone: str
) -> tuple[Reply, list[str] | None]:
    """The text of a reminder (and the template parameters when it is about an appointment).

    Nothing sensitive: no appointment type, no names, no case facts; only when and where.
    """

    def build(language: str) -> tuple[str, tuple[Button, ...]]:
        if kind == "deadline":
            return t(language, "reminder.deadline"), (
                Button(t(language, "reminder.button.where"), "kb:waar-sta-ik"),
            )
        assert appt is not None
        if kind == "ladder":
            return t(language, "reminder.missed"), (
                Button(t(language, "reminder.button.new_time"), f"ap:move:{appt.id}"),
                Button(t(language, "menu.button.menu"), "menu"),
            )
        date, time = format_local_datetime(appt.starts_at, language, zone)
        place = sentence(language, where(language, appt))
        if rule == "cancelled":
            return t(language, "reminder.cancelled", date=date, time=time), (
                Button(t(language, "menu.button.menu"), "menu"),
            )
        key = {"invitation": "reminder.invitation", "moved": "reminder.moved"}.get(
            rule, "reminder.appointment"
        )
        text = t(language, key, date=date, time=time, where=place)
        if rule not in ("invitation", "moved"):
            text += "\n" + t(language, "reminder.stop_hint")
        return text, (
            Button(t(language, "appointments.button.confirm"), f"ap:ok:{appt.id}"),
            Button(t(language, "appointments.button.move"), f"ap:move:{appt.id}"),
            Button(t(language, "appointments.button.cancel"), f"ap:cancel:{appt.id}"),
        )

    text, buttons = build(lang)
    dutch = build("nl")[0] if lang != "nl" else None
    params = None
    if kind == "appointment" and appt is not None and rule != "cancelled":
        params = list(format_local_datetime(appt.starts_at, lang, zone))
    return Reply(text, buttons, dutch), params
