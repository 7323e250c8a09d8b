"""The aiohttp application that mounts the web chat, the console and (later) the channel webhooks."""

from __future__ import annotations

import gc
import hmac
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import calendar
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import STATIC_DIR, WebChatHub, page
from bot.channels.whatsapp import WhatsAppClient, WhatsAppWebhook
from bot.outbox import OutboxSender
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.translations import TranslationWorker
from cases.db import create_engine, session_factory
from cases.models import Appointment
from console.app import create_console_app
from dialogs import matcher as matching
from locales.translation import packages
from locales.translation.engine import TranslationService
from scheduler.reminders import ReminderDispatcher
from scheduler.runner import create_scheduler

log = logging.getLogger(__name__)

ENGINE_KEY: web.AppKey[AsyncEngine] = web.AppKey("engine", AsyncEngine)
PIPELINE_KEY: web.AppKey[Pipeline] = web.AppKey("pipeline", Pipeline)
WEBCHAT_KEY: web.AppKey[WebChatHub] = web.AppKey("webchat", WebChatHub)
SENDER_KEY: web.AppKey[OutboxSender] = web.AppKey("sender", OutboxSender)
TRANSLATOR_KEY: web.AppKey[TranslationService] = web.AppKey("translator", TranslationService)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Strict headers on every response: no scripts from elsewhere, no framing, no sniffing."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if not response.prepared:
            _set_headers(response)
        raise
    if not response.prepared:
        _set_headers(response)
    return response


def _set_headers(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, as JSON."""
    try:
        async with request.app[ENGINE_KEY].connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # the reason goes to the log, not to the world
        log.exception("health check: database unreachable")
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return web.json_response(
        {"status": "ok" if status == 200 else "degraded", "database": database}, status=status
    )


async def console_redirect(request: web.Request) -> web.StreamResponse:
    """``/console`` → ``/console/``."""
    raise web.HTTPFound("/console/")


async def calendar_file(request: web.Request) -> web.StreamResponse:
    """An appointment's ICS file, for the holder of the link the chat gave (404 otherwise)."""
    pipeline = request.app[PIPELINE_KEY]
    appointment_id = int(request.match_info["id"])
    async with pipeline.sessions() as session:
        appointment = await session.get(Appointment, appointment_id)
    if (
        appointment is None
        or not pipeline.link_key
        or not hmac.compare_digest(
            calendar.token(pipeline.link_key, appointment.id, appointment.participant_id),
            request.match_info["token"],
        )
    ):
        raise web.HTTPNotFound(text="Niet gevonden.")
    return calendar.response(appointment, appointment.participant.preferred_language)


def channel_status(settings: Settings) -> list[str]:
    """One line per channel: on, or off with the settings that are missing."""
    lines = ["web chat: on (/)"]
    for name, missing in (
        ("WhatsApp", settings.whatsapp_missing()),
        ("Telegram", settings.telegram_missing()),
    ):
        lines.append(f"{name}: off (not set: {', '.join(missing)})" if missing else f"{name}: on")
    return lines


def create_app(settings: Settings, *, telegram_polling: bool = False) -> web.Application:
    """The whole Wegwijs web application for ``settings``."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    packages.use_directory(settings.translation_dir)
    translator = TranslationService(sessions, threads=settings.translation_threads)
    pipeline = Pipeline(sessions, settings, translator)
    hub = WebChatHub(pipeline)
    dispatcher = ReminderDispatcher(sessions, settings, on_queued=pipeline.deliver)
    sender = OutboxSender(sessions, settings)
    translation_worker = TranslationWorker(sessions, translator)
    pipeline.after_turn(translation_worker.wake)
    whatsapp = WhatsAppClient(settings) if not settings.whatsapp_missing() else None
    telegram = (
        TelegramChannel(pipeline, settings, polling=telegram_polling)
        if not settings.telegram_missing()
        else None
    )
    for client in (whatsapp, telegram):
        if client is not None:
            sender.register(client)
            pipeline.register_channel(client.channel, sender.deliver)

    app = web.Application(middlewares=[security_headers], client_max_size=256 * 1024)
    app[ENGINE_KEY] = engine
    app[PIPELINE_KEY] = pipeline
    app[WEBCHAT_KEY] = hub
    app[SENDER_KEY] = sender
    app[TRANSLATOR_KEY] = translator
    app.router.add_get("/", page)
    app.router.add_get("/ws", hub.websocket)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/console", console_redirect)
    app.router.add_static("/static", STATIC_DIR)
    app.router.add_get(r"/calendar/{id:\d+}/{token:[0-9a-f]{32}}.ics", calendar_file)
    console = create_console_app(
        settings, sessions, dispatcher, pipeline.deliver, translator, pipeline.settings_changed
    )
    app.add_subapp("/console", console)
    if whatsapp is not None:
        webhook = WhatsAppWebhook(pipeline, settings)
        app.router.add_get("/webhooks/whatsapp", webhook.verify)
        app.router.add_post("/webhooks/whatsapp", webhook.receive)
    if telegram is not None and not telegram_polling:
        app.router.add_post("/webhooks/telegram", telegram.webhook)
    for line in channel_status(settings):
        log.info("channel %s", line)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        packages.ensure_sentence_splitters()  # packages copied in by hand get one too: no downloads
        matching.default().warm()
        await translation_worker.start()
        if whatsapp is not None:
            await whatsapp.start()
        if telegram is not None:
            await telegram.start()
        await pipeline.start()
        await sender.start()
        if settings.processes > 1:
            hub.start_sweeping()
        scheduler = create_scheduler(pipeline, dispatcher)
        scheduler.start()
        # Everything loaded at start-up (knowledge index, catalogs, models) lives as long as the
        # process: keep it out of the garbage collector's full passes, which otherwise scan it every
        # few hundred requests and add 100 ms to one of them (benchmarks/console.py showed it).
        gc.collect()
        gc.freeze()
        yield
        # Stop taking work in, finish what was accepted, send what it produced.
        scheduler.shutdown(wait=False)
        if telegram is not None:
            await telegram.stop()
        await hub.stop_sweeping()
        await pipeline.stop()
        await sender.stop()
        await translation_worker.stop()
        translator.close()
        if whatsapp is not None:
            await whatsapp.close()
        await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(lambda _: hub.close_all())
    return app
