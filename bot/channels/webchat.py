"""The web chat: a page at ``/`` talking JSON over a websocket at ``/ws``.

A browser keeps a random session token (localStorage); the server stores only its SHA-256 as the
identity's external id, so a database reader cannot take over a chat. Protocol, client → server:
``hello {session?, language?}``, ``message {id, text}``, ``button {id, payload}``; server → client:
``session``, ``transcript``, ``ack {id}``, ``message``, ``error {code, text}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import select

from bot.pipeline import Pipeline
from cases.db import transaction
from cases.models import ChannelIdentity, Message
from cases.services import identities, messages
from locales.languages import LANGUAGES, supported

log = logging.getLogger(__name__)
CHANNEL = "webchat"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_FRAME_BYTES = 64 * 1024


def token_to_external_id(token: str) -> str:
    """The stored external id of a web-chat session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def message_json(message: Message) -> dict[str, Any]:
    """A message as the page shows it."""
    return {
        "type": "message",
        "id": message.id,
        "direction": message.direction,
        "kind": message.kind,
        "text": message.text,
        "buttons": message.buttons or [],
        "language": message.language,
        "dir": "rtl" if message.language and LANGUAGES.get(message.language, LANGUAGES["nl"]).rtl else "ltr",
        "at": message.created_at.isoformat(),
    }


class WebChatHub:
    """Open websockets per identity, and delivery of queued outbound messages to them."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.sockets: dict[int, set[web.WebSocketResponse]] = defaultdict(set)
        self._send_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sweeper: asyncio.Task[None] | None = None
        pipeline.register_channel(CHANNEL, self.deliver)

    def start_sweeping(self, every_seconds: float = 1.0) -> None:
        """With several serving processes, a reply may be queued by another process than the one
        holding the person's socket (a staff answer, a reminder): look for those every second."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(every_seconds), name="webchat-sweep")

    async def stop_sweeping(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None

    async def _sweep(self, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            connected = [i for i, sockets in self.sockets.items() if sockets]
            if not connected:
                continue
            try:
                async with self.pipeline.sessions() as session:
                    waiting = await messages.identities_with_queued(session, CHANNEL, connected)
                for identity_id in waiting:
                    await self.deliver(identity_id)
            except Exception:
                log.exception("web-chat sweep failed")

    async def deliver(self, identity_id: int) -> None:
        """Send queued outbound messages to every open socket of the identity; mark them sent."""
        if not self.sockets.get(identity_id):
            return  # not connected: stays queued and is shown with the transcript on reconnect
        async with self._send_locks[identity_id], transaction(self.pipeline.sessions) as session:
            queued = await messages.queued_outbound(session, identity_id)
            sent: list[int] = []
            for message in queued:
                if await self._send_all(identity_id, message_json(message)):
                    sent.append(message.id)
            await messages.mark_sent(session, sent)

    async def close_all(self) -> None:
        """Close every open socket (at shutdown); pages reconnect and get their transcript."""
        for sockets in list(self.sockets.values()):
            for ws in list(sockets):
                await ws.close(code=1001, message=b"server shutdown")

    async def _send_all(self, identity_id: int, data: dict[str, Any]) -> bool:
        delivered = False
        for ws in list(self.sockets.get(identity_id, ())):
            try:
                await ws.send_json(data)
                delivered = True
            except (ConnectionError, RuntimeError):
                self.sockets[identity_id].discard(ws)
        return delivered

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """The ``/ws`` endpoint."""
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        identity_id: int | None = None
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                data = _parse(frame.data)
                if data is None:
                    await ws.send_json({"type": "error", "code": "bad_request"})
                    continue
                if data.get("type") == "hello" and identity_id is None:
                    identity_id = await self._hello(ws, data)
                elif identity_id is None:
                    await ws.send_json({"type": "error", "code": "hello_first"})
                else:
                    await self._inbound(ws, identity_id, data)
        finally:
            if identity_id is not None:
                self.sockets[identity_id].discard(ws)
                if not self.sockets[identity_id]:
                    self.sockets.pop(identity_id, None)
                    self._send_locks.pop(identity_id, None)
        return ws

    async def _hello(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> int:
        token = data.get("session") if isinstance(data.get("session"), str) else None
        hint = supported(data.get("language") if isinstance(data.get("language"), str) else None)
        identity = None
        if token and 20 <= len(token) <= 100:
            async with self.pipeline.sessions() as session:
                identity = await session.scalar(
                    select(ChannelIdentity).where(
                        ChannelIdentity.channel == CHANNEL,
                        ChannelIdentity.external_id == token_to_external_id(token),
                    )
                )
        is_new = identity is None
        if is_new:
            token = secrets.token_urlsafe(32)
            async with transaction(self.pipeline.sessions) as session:
                identity = await identities.get_or_create(session, CHANNEL, token_to_external_id(token))
                if hint:
                    identities.set_language(identity, hint)
        assert identity is not None and token is not None
        language = identity.language or "nl"
        await ws.send_json(
            {"type": "session", "session": token, "language": language, "dir": LANGUAGES[language].direction}
        )
        async with transaction(self.pipeline.sessions) as session:
            conversation = await messages.conversation_for(session, identity)
            history = [
                message_json(m)
                for m in await messages.transcript(session, conversation.id)
                if m.kind != "start"
            ]
        await ws.send_json({"type": "transcript", "messages": history})
        self.sockets[identity.id].add(ws)
        if is_new:
            # The bot speaks first: a start event goes through the inbox like any message.
            await self.pipeline.accept(identity, external_id=f"start:{identity.id}", kind="start")
        else:
            await self.deliver(identity.id)
        return identity.id

    async def _inbound(self, ws: web.WebSocketResponse, identity_id: int, data: dict[str, Any]) -> None:
        kind = data.get("type")
        client_id = data.get("id")
        if (
            kind not in ("message", "button")
            or not isinstance(client_id, str)
            or not 1 <= len(client_id) <= 64
        ):
            await ws.send_json({"type": "error", "code": "bad_request"})
            return
        async with self.pipeline.sessions() as session:
            identity = await session.get(ChannelIdentity, identity_id)
        assert identity is not None
        if kind == "message":
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                await ws.send_json({"type": "error", "code": "empty"})
                return
            accepted = await self.pipeline.accept(
                identity, external_id=f"{identity_id}:{client_id}", kind="text", text=text
            )
        else:
            payload = data.get("payload")
            if not isinstance(payload, str) or not 1 <= len(payload) <= 100:
                await ws.send_json({"type": "error", "code": "bad_request"})
                return
            label = data.get("label") if isinstance(data.get("label"), str) else payload
            accepted = await self.pipeline.accept(
                identity,
                external_id=f"{identity_id}:{client_id}",
                kind="button",
                text=label[:200],
                payload=payload,
            )
        await ws.send_json({"type": "ack", "id": client_id, "message_id": accepted.message_id})


def _parse(raw: str) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def page(request: web.Request) -> web.FileResponse:
    """The web-chat page."""
    return web.FileResponse(STATIC_DIR / "webchat.html", headers={"Cache-Control": "no-cache"})
