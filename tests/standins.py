"""Local servers that answer like the WhatsApp Graph API and the Telegram Bot API, on loopback.

They record every request they receive, and can be told what to answer next (errors, rate limits).
The shapes follow the platforms' public documentation.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StandIn:
    """Base: an aiohttp server on 127.0.0.1 with a random port."""

    requests: list[Recorded] = field(default_factory=list)
    scripted: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    def script(self, status: int, body: dict[str, Any]) -> None:
        """Answer the next matching request with this status and body."""
        self.scripted.append((status, body))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, wait_seconds: float = 10.0, **match: str) -> list[Recorded]:
        """Wait until at least ``count`` requests (matching ``path`` ending etc.) arrived."""
        deadline = time.monotonic() + wait_seconds
        while True:
            found = self.matching(**match)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.02)

    def matching(self, path_endswith: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(path_endswith)]

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError


class GraphAPI(StandIn):
    """``POST /{version}/{phone_number_id}/messages`` as the Cloud API answers it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}},
                status=401,
            )
        if self.scripted:
            status, answer = self.scripted.pop(0)
            return web.json_response(answer, status=status)
        wamid = f"wamid.OUT{next(self._ids):06d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": wamid}],
            }
        )

    @staticmethod
    def error(code: int, message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
        return status, {
            "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
        }


class BotAPI(StandIn):
    """``POST /bot{token}/{method}`` as the Telegram Bot API answers it (form or JSON parameters)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self._ids = itertools.count(100)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {}
            for key, value in (await request.post()).items():
                text = str(value)
                params[key] = json.loads(text) if text[:1] in "[{" else text
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), params))
        prefix = f"/bot{self.token}/"
        if not request.path.startswith(prefix):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.path.removeprefix(prefix)
        if method == "getUpdates":
            if not self.updates:
                await asyncio.sleep(0.1)
            offset = int(params.get("offset", 0) or 0)
            pending = [u for u in self.updates if u["update_id"] >= offset]
            return web.json_response({"ok": True, "result": pending})
        if self.scripted and method == "sendMessage":
            status, answer = self.scripted.pop(0)
            return web.json_response(answer, status=status)
        if method == "getMe":
            result: Any = {
                "id": 777,
                "is_bot": True,
                "first_name": "Wegwijs",
                "username": "wegwijs_test_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        elif method == "sendMessage":
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
        else:  # answerCallbackQuery, deleteWebhook, setWebhook, ...
            result = True
        return web.json_response({"ok": True, "result": result})

    def sent_texts(self) -> list[str]:
        return [r.body["text"] for r in self.matching("/sendMessage")]


# --- WhatsApp webhook payloads, in the Cloud API's shape ----------------------------------------------
PHONE_ID = "106540352242922"
WA_ID = "31612345678"


def notification(
    *,
    messages_: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    wa_id: str = WA_ID,
    phone_id: str = PHONE_ID,
) -> dict:  # type: ignore[type-arg]
    """A webhook notification as the Cloud API posts it: messages from ``wa_id``, or statuses."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_id},
    }
    if messages_ is not None:
        value["contacts"] = [{"profile": {"name": "Test"}, "wa_id": wa_id}]
        value["messages"] = messages_
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def text_msg(body: str, wamid: str, wa_id: str = WA_ID) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def button_msg(
    payload: str, title: str, wamid: str, kind: str = "button_reply", wa_id: str = WA_ID
) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": payload, "title": title}},
    }
