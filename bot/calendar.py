"""Calendar files (ICS) for appointments, behind links that only the person's chat receives."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from icalendar import Calendar, Event

from cases.models import Appointment
from locales.catalog import t


def token(key: str, appointment_id: int, participant_id: int) -> str:
    """The unguessable part of an appointment's calendar link."""
    message = f"ics:{appointment_id}:{participant_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def url(base: str, key: str, appointment_id: int, participant_id: int) -> str:
    return f"{base}/calendar/{appointment_id}/{token(key, appointment_id, participant_id)}.ics"


def ics(appointment: Appointment, language: str) -> bytes:
    """The appointment as an iCalendar file: what, when and where, no names or case facts."""
    cal = Calendar()
    cal.add("prodid", "-//Wegwijs//gemeente//NL")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"wegwijs-appointment-{appointment.id}")
    event.add("summary", t(language, f"appointment_type.{appointment.type_key}"))
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("dtstamp", appointment.updated_at)
    where = (
        appointment.location
        if appointment.location_kind in ("office", "provider")
        else t(language, f"appointments.where.{appointment.location_kind}", location="")
    )
    if where:
        event.add("location", where)
    if appointment.status == "cancelled":
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return cal.to_ical()


def response(appointment: Appointment, language: str) -> web.Response:
    return web.Response(
        body=ics(appointment, language),
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="afspraak-{appointment.id}.ics"',
            "Cache-Control": "no-store",
        },
    )
