"""The engine's inputs and outputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

InboundKind = Literal["text", "button", "start", "unsupported"]


@dataclass(frozen=True)
class Inbound:
    """A message as the engine sees it: typed text, a tapped button's payload, or a channel event."""

    kind: InboundKind
    text: str = ""
    payload: str | None = None
    dutch: str | None = None  # machine translation of text in a language outside the eight, for matching


@dataclass(frozen=True)
class Button:
    label: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    dutch: str | None = None  # the same curated text in Dutch, for staff (None when text is Dutch)


@dataclass(frozen=True)
class AppointmentView:
    type_key: str
    starts_at: dt.datetime
    location: str
    id: int = 0
    duration_minutes: int = 60
    location_kind: str = "office"
    confirmed: bool = False
    tolk_needed: bool = False
    calendar_url: str = ""


@dataclass(frozen=True)
class DocumentView:
    id: int
    item_key: str
    status: str  # open | have | need_help | verified
    appointment_id: int | None = None


@dataclass(frozen=True)
class SlotView:
    id: int
    starts_at: dt.datetime
    location_kind: str = "office"


@dataclass(frozen=True)
class CaseView:
    """What the engine may know of a linked participant's case (only ever set after linking)."""

    first_name: str
    appointments: tuple[AppointmentView, ...] = ()
    target_group: str = "overig"
    brp_date: dt.date | None = None
    pip_signed_date: dt.date | None = None
    termijn_end: dt.date | None = None
    klantmanager: str | None = None
    team: str | None = None
    documents: tuple[DocumentView, ...] = ()
    reminders_stopped: bool = False

    def appointment(self, appointment_id: int) -> AppointmentView | None:
        return next((a for a in self.appointments if a.id == appointment_id), None)


@dataclass(frozen=True)
class Context:
    language: str | None
    consented: bool
    state: dict[str, Any]
    case: CaseView | None = None
    language_hint: str | None = None  # from the channel (browser or app language) on first contact
    timezone: str = "Europe/Amsterdam"
    office_open: bool = True  # staff answer the chat now
    office_opens: dt.datetime | None = None  # when they do next, if closed
    response_hours: int = 24  # what we promise while open
    keywords: tuple[str, ...] = ()  # staff-configured phrases that always bring in a person


# Effects: what the pipeline must change in the case, in the same transaction as the replies.
@dataclass(frozen=True)
class GiveConsent:
    pass


@dataclass(frozen=True)
class DeclineConsent:
    pass


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class AttemptLink:
    code: str


@dataclass(frozen=True)
class RequestHandoff:
    reason: str = "person_requested"  # person_requested | not_understood | topic | keyword | safety
    topic: str | None = None


@dataclass(frozen=True)
class RaiseSafetyAlert:
    """A confidential alert for the designated role; the message text never goes into it."""

    category: str


@dataclass(frozen=True)
class RecordFeedback:
    article_id: str
    helpful: bool


@dataclass(frozen=True)
class RecordUnanswered:
    """A question the knowledge base could not answer with confidence (for staff review)."""

    outcome: str  # clarify | none
    candidates: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ShowArticle:
    """Which article was given (for per-article statistics)."""

    article_id: str


@dataclass(frozen=True)
class ConfirmAppointment:
    appointment_id: int


@dataclass(frozen=True)
class CancelAppointment:
    appointment_id: int
    reason: str


@dataclass(frozen=True)
class RequestTolk:
    appointment_id: int


@dataclass(frozen=True)
class OfferSlots:
    """Look up free slots for a new time (the pipeline answers with ``engine.slots_offer``)."""

    appointment_id: int


@dataclass(frozen=True)
class BookSlot:
    """Move the appointment (or rebook a missed one) into a slot (answered by ``engine.booking_result``)."""

    appointment_id: int
    slot_id: int


@dataclass(frozen=True)
class MarkDocument:
    item_id: int
    status: str  # have | need_help


@dataclass(frozen=True)
class RequestErasure:
    """The person asked to delete their data (answered by ``engine.erasure_requested``)."""


@dataclass(frozen=True)
class SetReminders:
    on: bool


Effect = (
    GiveConsent
    | DeclineConsent
    | SetLanguage
    | AttemptLink
    | RequestHandoff
    | RaiseSafetyAlert
    | RecordFeedback
    | RecordUnanswered
    | ShowArticle
    | ConfirmAppointment
    | CancelAppointment
    | RequestTolk
    | OfferSlots
    | BookSlot
    | MarkDocument
    | SetReminders
    | RequestErasure
)


@dataclass
class DialogResult:
    replies: list[Reply]
    state: dict[str, Any]
    language: str
    intent: str
    effects: list[Effect] = field(default_factory=list)
    escalated: bool = False


LinkStatus = Literal["linked", "invalid", "rate_limited", "already_linked"]
