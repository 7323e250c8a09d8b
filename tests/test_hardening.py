"""Hostile input: the dialog engine fuzzed with hypothesis, and every console route tried by every
role and by an anonymous visitor (the routes are read from the router, so a new one cannot be
forgotten)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cases.models import STAFF_ROLES, Conversation
from dialogs import engine
from dialogs.model import (
    AppointmentView,
    AttemptLink,
    BookSlot,
    CaseView,
    Context,
    DocumentView,
    Inbound,
    OfferSlots,
    RequestErasure,
)
from locales.languages import LANGUAGES
from tests.helpers import csrf_from, login, make_participant, make_staff

CASE = CaseView(
    "Amina",
    (AppointmentView("pip_gesprek", dt.datetime(2027, 6, 14, 8, tzinfo=dt.UTC), "Stadskantoor", id=7),),
    documents=(DocumentView(3, "bankpas", "open", 7),),
)
texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),  # very long
    st.text(alphabet=st.sampled_from("\x00\x07\x1b\u200f\u202e\ufeff\r\n\t"), max_size=50),  # control, bidi
    st.lists(
        st.sampled_from(["PIP", "مرحبا", "ሰላም", "привіт", "DUO", "123456782", "stop", "!!", " "]), max_size=12
    ).map(" ".join),  # mixed scripts
)
payloads = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.sampled_from(
        [
            "menu",
            "menu:x",
            "ap:ok:7",
            "ap:ok:999999",
            "ap:why:7:",
            "ap:slot:7:x",
            "doc:item:3",
            "kb:",
            "kbmore:nope",
            "fb::",
            "lang:xx",
            "person:",
            "privacy:delete",
            "rem:start",
            "ap:",
        ]
    ),
)
contexts = st.builds(
    Context,
    language=st.sampled_from([None, *LANGUAGES]),
    consented=st.booleans(),
    state=st.fixed_dictionaries(
        {
            "step": st.sampled_from(
                ["new", "consent", "menu", "handoff", "await_code", "declined", "language"]
            )
        },
        optional={"misses": st.integers(-5, 50), "pending_code": st.text(max_size=20)},
    ),
    case=st.sampled_from([None, CASE]),
    keywords=st.sampled_from([(), ("advocaat",), ("",)]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ctx=contexts,
    kind=st.sampled_from(["text", "button", "start", "unsupported"]),
    text=texts,
    payload=payloads,
)
def test_the_dialog_engine_answers_anything_without_failing(
    ctx: Context, kind: str, text: str, payload: str | None
) -> None:
    result = engine.handle(ctx, Inbound(kind, text=text, payload=payload))  # type: ignore[arg-type]
    # Every message gets an answer: from the engine, or from the pipeline once it has applied an
    # effect that needs the case first (a koppelcode, free slots, a booking, an erasure request).
    answered_by_pipeline = any(
        isinstance(e, AttemptLink | OfferSlots | BookSlot | RequestErasure) for e in result.effects
    )
    assert result.replies or answered_by_pipeline, "every message gets an answer"
    assert result.language in LANGUAGES
    for reply in result.replies:
        assert reply.text.strip()
        for button in reply.buttons:
            assert button.label.strip() and len(button.payload) <= 200


# Every console route × every role -------------------------------------------------------------------
PUBLIC = {"/console/login", "/console/logout", "/console/static"}
DESIGNATED = {"/console/safety"}  # guarded by the configured safety role (WEGWIJS_SAFETY_ROLE) inside


def _routes(app, safety_role: str) -> list[tuple[str, str, tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    console = next(r._app for r in app.router.resources() if getattr(r, "_app", None) is not None)  # noqa: SLF001
    found = []
    for route in console.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix", "")
        if route.method == "HEAD" or any(path.startswith(p) for p in PUBLIC):
            continue
        roles = getattr(route.handler, "required_roles", None)
        assert roles is not None, f"{route.method} {path} is not protected by requires()"
        if path in DESIGNATED:
            roles = (safety_role,)
        found.append((route.method, path, roles))
    return found


async def test_every_console_route_is_protected(app, settings) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(app, settings.safety_role)
    assert len(routes) >= 40  # the whole console, read from the router


@pytest.mark.parametrize("role", ["anonymous", *STAFF_ROLES])
async def test_every_console_route_against_every_role(
    client: TestClient, app, sessions, settings, role: str
) -> None:  # type: ignore[no-untyped-def]
    owner = await make_staff(sessions, "owner@example.nl", ["klantmanager"])
    participant = await make_participant(sessions, klantmanager=owner)
    if role != "anonymous":
        await make_staff(sessions, f"{role}@example.nl", [role])
        await login(client, f"{role}@example.nl")
    token = "none"
    if role != "anonymous":
        token = csrf_from(await (await client.get("/console/", allow_redirects=True)).text())
    async with sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id)) or 1
    for method, path, roles in _routes(app, settings.safety_role):
        concrete = re.sub(r"\{id[^}]*\}", str(participant.id), path)
        concrete = re.sub(r"\{[^}]+\}", str(conversation_id), concrete)
        if path.endswith("/live"):
            continue  # a never-ending event stream; its guard is the same decorator (checked above)
        if method == "POST":
            resp = await client.post(concrete, data={"csrf_token": token}, allow_redirects=False)
        else:
            resp = await client.get(concrete, allow_redirects=False)
        allowed = role != "anonymous" and (not roles or role in roles)
        if role == "anonymous":
            assert resp.status in ((403,) if method == "POST" else (302,)), f"{method} {path}: {resp.status}"
            if method == "GET":
                assert "/console/login" in resp.headers["Location"]
        elif allowed:
            assert resp.status != 403 and resp.status < 500, f"{role} {method} {path}: {resp.status}"
        else:
            assert resp.status == 403, f"{role} {method} {path}: {resp.status}"
