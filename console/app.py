"""Builds the console sub-application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from cases.sensitive import mask
from console.admin import PIPELINE_SETTINGS_KEY
from console.admin import routes as admin_routes
from console.inbox import TRANSLATOR_KEY
from console.inbox import routes as inbox_routes
from console.planning import DELIVER_KEY, DISPATCHER_KEY
from console.planning import routes as planning_routes
from console.privacy import routes as privacy_routes
from console.security import SESSIONS_KEY, SETTINGS_KEY, cookie_storage, csrf_middleware
from console.views import routes
from locales.translation.engine import TranslationService
from scheduler.reminders import ReminderDispatcher

HERE = Path(__file__).parent


def create_console_app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    dispatcher: ReminderDispatcher | None = None,
    deliver: Callable[[str, int], Awaitable[None]] | None = None,
    translator: TranslationService | None = None,
    settings_changed: Callable[[], None] | None = None,
) -> web.Application:
    """The console, to be mounted at ``/console``."""
    app = web.Application()
    if dispatcher is not None:
        app[DISPATCHER_KEY] = dispatcher
    if deliver is not None:
        app[DELIVER_KEY] = deliver
    if translator is not None:
        app[TRANSLATOR_KEY] = translator
    if settings_changed is not None:
        app[PIPELINE_SETTINGS_KEY] = settings_changed
    app[SETTINGS_KEY] = settings
    app[SESSIONS_KEY] = sessions
    setup_session(app, cookie_storage(settings.effective_secret_key(), secure=settings.cookie_secure))
    app.middlewares.append(csrf_middleware)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    zone = ZoneInfo(settings.timezone)

    def local(value: dt.datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "—"

    env.filters["local"] = local
    env.filters["masked"] = mask
    env.filters["date_nl"] = lambda d: d.strftime("%d-%m-%Y") if d else "—"
    app.router.add_routes(routes)
    app.router.add_routes(planning_routes)
    app.router.add_routes(inbox_routes)
    app.router.add_routes(admin_routes)
    app.router.add_routes(privacy_routes)
    app.router.add_static("/static", HERE / "static", name="static")
    return app
