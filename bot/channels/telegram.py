"""Telegram through python-telegram-bot v22, inside the same aiohttp app.

Webhook mode: an ``Application`` built with ``updater(None)``; ``POST /webhooks/telegram`` checks
``X-Telegram-Bot-Api-Secret-Token``, turns the update into an inbox row and answers 200 only after
the commit. Polling mode (development): the same application with its updater, feeding the same
function. Menus are inline keyboards; taps arrive as callback queries. ``/start CODE`` deep links
carry a koppelcode.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import warnings
from dataclasses import dataclass

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.outbox import Outgoing, SendResult
from bot.pipeline import Pipeline
from bot.settings import Settings
from cases.models import ChannelIdentity

log = logging.getLogger(__name__)
CHANNEL = "telegram"
TEXT_MAX = 4096
MAX_BODY_BYTES = 1024 * 1024
COMMAND_ALIASES = {"/menu": "menu", "/help": "menu", "/taal": "Taal wijzigen", "/language": "Taal wijzigen"}


@dataclass(frozen=True)
class Normalised:
    chat_id: str
    update_id: int
    kind: str  # text | button | start | unsupported
    text: str
    payload: str | None
    language_hint: str | None
    callback_query_id: str | None = None


def normalise(update: Update) -> Normalised | None:
    """What the pipeline needs from an update; None for updates that carry no message for us."""
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or message.chat.type != "private" or not query.data:
            return None
        return Normalised(
            str(message.chat.id),
            update.update_id,
            "button",
            _button_label(query.message, query.data),
            query.data,
            query.from_user.language_code if query.from_user else None,
            query.id,
        )
    message = update.message
    if message is None or message.chat.type != "private":
        return None  # edits, channel posts, group chats, membership changes: nothing to answer
    hint = message.from_user.language_code if message.from_user else None
    chat_id = str(message.chat.id)
    if message.text is not None:
        text = message.text
        if text.startswith("/start"):
            code = text.removeprefix("/start").strip()
            return Normalised(
                chat_id, update.update_id, "start", "/start", f"link:{code}" if code else None, hint
            )
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else ""
        if command in COMMAND_ALIASES:
            return Normalised(chat_id, update.update_id, "text", COMMAND_ALIASES[command], None, hint)
        return Normalised(chat_id, update.update_id, "text", text, None, hint)
    kind = next(
        (
            k
            for k in (
                "voice",
                "audio",
                "photo",
                "video",
                "video_note",
                "document",
                "sticker",
                "location",
                "contact",
                "animation",
                "poll",
            )
            if getattr(message, k, None)
        ),
        "unknown",
    )
    return Normalised(chat_id, update.update_id, "unsupported", f"[{kind}]", None, hint)


def _button_label(message: object, data: str) -> str:
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return data


def keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard: one button per row (labels can be long), two per row for short ones."""
    if not buttons:
        return None
    short = all(len(b["label"]) <= 14 for b in buttons)
    per_row = 2 if short and len(buttons) > 3 else 1
    rows = [
        [InlineKeyboardButton(b["label"], callback_data=b["payload"][:64]) for b in buttons[i : i + per_row]]
        for i in range(0, len(buttons), per_row)
    ]
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    """The Telegram bot: webhook or polling in, outbox client out."""

    channel = CHANNEL

    def __init__(self, pipeline: Pipeline, settings: Settings, *, polling: bool = False) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.polling = polling
        builder: ApplicationBuilder = (  # type: ignore[type-arg]
            Application.builder()
            .token(settings.telegram_token)
            .base_url(f"{settings.telegram_api_base}/bot")
            .base_file_url(f"{settings.telegram_api_base}/file/bot")
        )
        if not polling:
            builder = builder.updater(None)
        self.application = builder.build()
        if polling:
            self.application.add_handler(TypeHandler(Update, self._on_polled_update))

    async def start(self) -> None:
        await self.application.initialize()  # getMe: a wrong token stops start-up here
        await self.application.start()
        if self.polling and self.application.updater is not None:
            await self.application.updater.start_polling(allowed_updates=["message", "callback_query"])

    async def stop(self) -> None:
        if self.polling and self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # Inbound ---------------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/telegram``."""
        sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(sent.encode(), self.settings.telegram_secret.encode()):
            return web.Response(status=401, text="bad secret token")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        if request.content_type != "application/json":
            return web.Response(status=415, text="expected application/json")
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or "update_id" not in data:
                raise ValueError("not an update")
            update = Update.de_json(data, self.application.bot)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.Response(status=400, text="malformed update")
        await self.handle_update(update)
        return web.json_response({"ok": True})

    async def _on_polled_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            await self.handle_update(update)

    async def handle_update(self, update: Update) -> None:
        """Store the update as an inbox row (once per update id), then acknowledge a button tap."""
        item = normalise(update)
        if item is None:
            return
        await self.pipeline.accept(
            ChannelIdentity(channel=CHANNEL, external_id=item.chat_id),
            external_id=f"u{item.update_id}",
            kind=item.kind,
            text=item.text,
            payload=item.payload,
            language_hint=item.language_hint,
        )
        if item.callback_query_id:
            # Stops the spinner on the tapped button; the reply itself comes through the outbox.
            asyncio.create_task(self._answer_callback(item.callback_query_id))  # noqa: RUF006

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.application.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", type(exc).__name__)

    # Outbound --------------------------------------------------------------------------------------
    async def send(self, out: Outgoing) -> SendResult:
        text = out.text if len(out.text) <= TEXT_MAX else out.text[: TEXT_MAX - 1] + "…"
        try:
            message = await self.application.bot.send_message(
                chat_id=int(out.recipient), text=text, reply_markup=keyboard(out.buttons)
            )
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta; accept both
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
            return SendResult("retry", retry_after=seconds, code="429", detail="Too Many Requests")
        except (BadRequest, Forbidden, InvalidToken) as exc:  # BadRequest is a NetworkError: catch it first
            return SendResult("failed", code=type(exc).__name__, detail=str(exc)[:500])
        except (TimedOut, NetworkError) as exc:
            return SendResult("retry", code=type(exc).__name__, detail=str(exc)[:500])
        except TelegramError as exc:
            return SendResult("failed", code=type(exc).__name__, detail=str(exc)[:500])
        return SendResult("sent", external_id=f"out:{message.chat.id}:{message.message_id}")

    async def send_template(self, out: Outgoing, kind: str) -> tuple[SendResult, str]:
        """Telegram has no conversation window; never called, but part of the client protocol."""
        return await self.send(out), ""
