"""Console security: encrypted session cookies, CSRF tokens, login state and role checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from cases.models import StaffUser
from cases.services.staff import get_staff

SESSION_COOKIE = "wegwijs_console"
SESSION_MAX_AGE = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STAFF_KEY: web.RequestKey[StaffUser | None] = web.RequestKey("staff", object)  # type: ignore[arg-type]
SESSIONS_KEY: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessions", async_sessionmaker)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


def cookie_storage(secret_key: str, *, secure: bool) -> EncryptedCookieStorage:
    """Fernet-encrypted cookie sessions: HttpOnly, SameSite=Strict, Secure unless told otherwise."""
    # 32 raw bytes: the storage turns them into a Fernet key itself.
    key = hashlib.sha256(b"wegwijs-console:" + secret_key.encode()).digest()
    return EncryptedCookieStorage(
        key,
        cookie_name=SESSION_COOKIE,
        httponly=True,
        secure=secure,
        samesite="Strict",
        max_age=SESSION_MAX_AGE,
        path="/console",
    )


def csrf_token(session: Session) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reject every state-changing request without the session's CSRF token (403)."""
    if request.method in UNSAFE_METHODS:
        session = await get_session(request)
        expected = session.get("csrf")
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sent = (await request.post()).get(CSRF_FIELD)
        if (
            not isinstance(expected, str)
            or not isinstance(sent, str)
            or not hmac.compare_digest(expected, sent)
        ):
            raise web.HTTPForbidden(text="CSRF-controle mislukt: herlaad de pagina en probeer opnieuw.")
    return await handler(request)


async def start_login_session(request: web.Request, staff: StaffUser) -> None:
    """A fresh session for a logged-in user (a new cookie, so a planted session id is useless)."""
    session = await new_session(request)
    session["staff_id"] = staff.id
    session["csrf"] = secrets.token_urlsafe(32)


async def end_session(request: web.Request) -> None:
    """Log out."""
    session = await get_session(request)
    session.invalidate()


async def current_staff(request: web.Request) -> StaffUser | None:
    """The logged-in, active staff user (cached on the request)."""
    if STAFF_KEY in request:
        return request[STAFF_KEY]
    session = await get_session(request)
    staff_id = session.get("staff_id")
    staff = None
    if isinstance(staff_id, int):
        async with request.app[SESSIONS_KEY]() as db:
            staff = await get_staff(db, staff_id)
    request[STAFF_KEY] = staff
    return staff


def staff_of(request: web.Request) -> StaffUser:
    """The logged-in staff user of a request that passed ``requires``."""
    staff = request.get(STAFF_KEY)
    if staff is None:
        raise web.HTTPFound("/console/login")
    return staff


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Only logged-in staff holding one of ``roles`` (or any role when none are given) may pass."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            staff = await current_staff(request)
            if staff is None:
                raise web.HTTPFound(f"/console/login?next={request.rel_url.path}")
            if roles and not staff.has_role(*roles):
                raise web.HTTPForbidden(text="U heeft geen toegang tot deze pagina.")
            return await handler(request)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
