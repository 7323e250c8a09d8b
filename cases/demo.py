"""Demo data: two teams, one account per role, and a handful of participants with appointments.

Everything here is invented. The demo password is printed by ``wegwijs demo``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import StaffUser, utcnow
from cases.services import appointments, console_settings, participants, staff
from cases.services.appointments import PlanningRules

DEMO_PASSWORD = "wegwijs-demo-2026"

DEMO_STAFF = [
    # name, email, roles, team, languages
    ("Sanne de Vries", "klantmanager@demo.wegwijs.nl", ["klantmanager"], "Team Noord", ["nl", "en", "ar"]),
    ("Murat Yilmaz", "klantmanager2@demo.wegwijs.nl", ["klantmanager"], "Team Zuid", ["nl", "tr"]),
    ("Petra Jansen", "planner@demo.wegwijs.nl", ["planner"], "Team Noord", ["nl"]),
    ("Ingrid Bakker", "teamleider@demo.wegwijs.nl", ["teamleider"], "Team Noord", ["nl", "en"]),
    ("Jeroen Smit", "beheerder@demo.wegwijs.nl", ["beheerder"], None, ["nl"]),
]

DEMO_PARTICIPANTS = [
    # reference, first, last, group, regime, language, km email, brp days ago, pip days ago
    ("WW-1001", "Amina", "Haddad", "statushouder", "Wi2021", "ar", "klantmanager@demo.wegwijs.nl", 120, 40),
    ("WW-1002", "Yonas", "Tesfay", "statushouder", "Wi2021", "ti", "klantmanager@demo.wegwijs.nl", 60, None),
    ("WW-1003", "Ayşe", "Demir", "gezinsmigrant", "Wi2021", "tr", "klantmanager2@demo.wegwijs.nl", 200, 150),
    ("WW-1004", "Olena", "Kovalenko", "overig", "Wi2021", "uk", "klantmanager@demo.wegwijs.nl", 90, None),
    ("WW-1005", "Farid", "Ahmadi", "statushouder", "Wi2021", "fa", "klantmanager@demo.wegwijs.nl", 400, 330),
    (
        "WW-1006",
        "Hodan",
        "Warsame",
        "statushouder",
        "Wi2013",
        "so",
        "klantmanager2@demo.wegwijs.nl",
        1500,
        1400,
    ),
]


async def load_demo_data(session: AsyncSession, rules: PlanningRules) -> bool:
    """Load the demo set into an empty database; returns False when staff exist already."""
    if await session.scalar(select(func.count()).select_from(StaffUser)):
        return False
    by_email: dict[str, StaffUser] = {}
    for name, email, roles, team, languages in DEMO_STAFF:
        by_email[email] = await staff.create_staff(
            session,
            name=name,
            email=email,
            password=DEMO_PASSWORD,
            roles=roles,
            team=team,
            languages=languages,
        )
    today = utcnow().date()
    for ref, first, last, group, regime, lang, km_email, brp_ago, pip_ago in DEMO_PARTICIPANTS:
        participant = await participants.create_participant(
            session,
            reference=ref,
            first_name=first,
            last_name=last,
            target_group=group,
            wet_regime=regime,
            preferred_language=lang,
            brp_date=today - dt.timedelta(days=brp_ago),
            pip_signed_date=today - dt.timedelta(days=pip_ago) if pip_ago is not None else None,
            klantmanager=by_email[km_email],
        )
        if pip_ago is None:
            await appointments.create_appointment(
                session,
                rules,
                participant=participant,
                type_key="brede_intake" if brp_ago < 80 else "pip_gesprek",
                starts_at=_next_weekday_at(10, days_ahead=5),
                location="Stadskantoor, Stationsplein 1, balie 4",
                staff_id=by_email[km_email].id,
                notify=False,
            )
        else:
            await appointments.create_appointment(
                session,
                rules,
                participant=participant,
                type_key="voortgangsgesprek",
                starts_at=_next_weekday_at(14, days_ahead=9),
                location="Stadskantoor, Stationsplein 1, kamer 2.12",
                staff_id=by_email[km_email].id,
                notify=False,
            )
    await console_settings.load_default_canned_replies(session)
    # Free slots in the morning, afternoon and evening, so "another time" in the chat has choices.
    planner = by_email["planner@demo.wegwijs.nl"]
    for days_ahead in (3, 4, 6):
        for hour in (8, 13, 17):
            await appointments.publish_slots(
                session,
                staff_id=by_email["klantmanager@demo.wegwijs.nl"].id,
                first=_next_weekday_at(hour, days_ahead=days_ahead),
                count=2,
                duration_minutes=45,
                type_key=None,
                location_kind="office",
                location="Stadskantoor, Stationsplein 1, kamer 2.12",
                created_by=planner,
            )
    return True


def _next_weekday_at(hour: int, days_ahead: int) -> dt.datetime:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Amsterdam")
    day = (utcnow() + dt.timedelta(days=days_ahead)).astimezone(zone).date()
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, 30 if hour < 9 else 0, tzinfo=zone).astimezone(
        dt.UTC
    )
