"""WhatsApp Cloud API: the webhook (verification, signed notifications) and the Graph API client.

Inbound: text, interactive replies (buttons, lists) and template quick replies reach the dialogs;
media, locations, stickers, contacts, reactions and unknown types are recorded and answered with
what the assistant can handle. Statuses move a sent message forward (sent → delivered → read) or
mark it failed with the platform's error code. Outbound: text, reply buttons (at most 3) or a list
(at most 10 rows), within the 24-hour window; outside it, an approved template.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.outbox import Outgoing, SendResult
from bot.pipeline import Pipeline
from bot.settings import Settings
from cases.db import transaction
from cases.models import ChannelIdentity
from cases.services import outbox
from locales.catalog import t

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"

TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
BUTTONS_MAX, BUTTON_TITLE_MAX = 3, 20
LIST_ROWS_MAX, ROW_TITLE_MAX, ROW_DESCRIPTION_MAX, LIST_BUTTON_MAX = 10, 24, 72, 20
RETRY_CODES = {130429, 131056, 131048, 80007, 4, 1, 2, 131000, 131016}  # rate limits and passing errors
WINDOW_CLOSED = 131047
UNSUPPORTED_TYPES = {"image", "audio", "video", "document", "location", "sticker", "contacts", "reaction"}
MAX_BODY_BYTES = 1024 * 1024


# --- Inbound ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboundMessage:
    wa_id: str
    message_id: str
    kind: str  # text | button | unsupported
    text: str
    payload: str | None


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str
    at: dt.datetime
    error_code: str | None
    error_detail: str | None


def verify_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` + HMAC-SHA256 of the raw body with the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def parse_notification(data: dict[str, Any]) -> tuple[list[InboundMessage], list[StatusUpdate]]:
    """The messages and statuses in one webhook notification (shape of the Cloud API docs)."""
    if data.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account notification")
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    for entry in data.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for msg in value.get("messages") or []:
                messages.append(_inbound(msg))
            for st in value.get("statuses") or []:
                statuses.append(_status(st))
    return messages, statuses


def _inbound(msg: dict[str, Any]) -> InboundMessage:
    kind = msg.get("type")
    wa_id, message_id = str(msg["from"]), str(msg["id"])
    if kind == "text":
        return InboundMessage(wa_id, message_id, "text", str((msg.get("text") or {}).get("body", "")), None)
    if kind == "interactive":
        interactive = msg.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        if reply.get("id"):
            return InboundMessage(wa_id, message_id, "button", str(reply.get("title", "")), str(reply["id"]))
    if kind == "button":  # quick reply on a template
        button = msg.get("button") or {}
        text = str(button.get("text", ""))
        return InboundMessage(wa_id, message_id, "button", text, str(button.get("payload") or text))
    label = kind if kind in UNSUPPORTED_TYPES else "unknown"
    return InboundMessage(wa_id, message_id, "unsupported", f"[{label}]", None)


def _status(st: dict[str, Any]) -> StatusUpdate:
    errors = st.get("errors") or [{}]
    code = errors[0].get("code")
    detail = errors[0].get("title") or errors[0].get("message")
    return StatusUpdate(
        message_id=str(st["id"]),
        status=str(st.get("status", "")),
        at=dt.datetime.fromtimestamp(int(st.get("timestamp") or 0), dt.UTC),
        error_code=str(code) if code is not None else None,
        error_detail=str(detail)[:500] if detail else None,
    )


class WhatsAppWebhook:
    """``GET/POST /webhooks/whatsapp``."""

    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.settings = settings

    async def verify(self, request: web.Request) -> web.Response:
        """The subscription handshake: echo ``hub.challenge`` when the verify token matches."""
        q = request.query
        token = q.get("hub.verify_token", "")
        if q.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token, self.settings.whatsapp_verify_token
        ):
            return web.Response(text=q.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def receive(self, request: web.Request) -> web.Response:
        """A notification: verified, stored, then acknowledged (200 only after the commit)."""
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        body = await request.read()
        if not verify_signature(
            self.settings.whatsapp_app_secret, body, request.headers.get("X-Hub-Signature-256")
        ):
            return web.Response(status=401, text="bad signature")  # unauthenticated: say nothing more
        if request.content_type != "application/json":
            return web.Response(status=415, text="expected application/json")
        try:
            data = json.loads(body)
            inbound, statuses = parse_notification(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.Response(status=400, text="malformed notification")
        for msg in inbound:
            identity = ChannelIdentity(channel=CHANNEL, external_id=msg.wa_id)
            await self.pipeline.accept(
                identity, external_id=msg.message_id, kind=msg.kind, text=msg.text, payload=msg.payload
            )
        if statuses:
            async with transaction(self.pipeline.sessions) as session:
                for st in statuses:
                    await outbox.apply_status(
                        session,
                        CHANNEL,
                        st.message_id,
                        st.status,
                        st.at,
                        error_code=st.error_code,
                        error_detail=st.error_detail,
                    )
        return web.json_response({"status": "ok"})


# --- Outbound --------------------------------------------------------------------------------------
def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_message(out: Outgoing) -> dict[str, Any]:
    """The Graph API body for one message: text, reply buttons or a list, within the platform limits."""
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": out.recipient}
    buttons = out.buttons
    if not buttons:
        return {**base, "type": "text", "text": {"preview_url": False, "body": _cut(out.text, TEXT_MAX)}}
    body = {"text": _cut(out.text, INTERACTIVE_BODY_MAX)}
    if len(buttons) <= BUTTONS_MAX and all(len(b["label"]) <= BUTTON_TITLE_MAX for b in buttons):
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": b["payload"], "title": b["label"]}} for b in buttons
            ]
        }
        return {
            **base,
            "type": "interactive",
            "interactive": {"type": "button", "body": body, "action": action},
        }
    rows = []
    for b in buttons[:LIST_ROWS_MAX]:
        row = {"id": b["payload"], "title": _cut(b["label"], ROW_TITLE_MAX)}
        if len(b["label"]) > ROW_TITLE_MAX:
            row["description"] = _cut(b["label"], ROW_DESCRIPTION_MAX)
        rows.append(row)
    if len(buttons) > LIST_ROWS_MAX:
        log.warning(
            "message %s has %d choices; WhatsApp lists show %d", out.message_id, len(buttons), LIST_ROWS_MAX
        )
    action = {
        "button": _cut(t(out.language, "menu.button.menu"), LIST_BUTTON_MAX),
        "sections": [{"rows": rows}],
    }
    return {**base, "type": "interactive", "interactive": {"type": "list", "body": body, "action": action}}


def build_template(out: Outgoing, name: str, language: str) -> dict[str, Any]:
    """An approved template. The neutral one has no parameters; the appointment template carries only
    the date and time, and the message's buttons as quick replies (their payloads come back as taps)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if out.template_params:
        components: list[dict[str, Any]] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in out.template_params]}
        ]
        components += [
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(i),
                "parameters": [{"type": "payload", "payload": b["payload"]}],
            }
            for i, b in enumerate(out.buttons[:BUTTONS_MAX])
        ]
        template["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": out.recipient,
        "type": "template",
        "template": template,
    }


class WhatsAppClient:
    """Sends through the Graph API messages endpoint of the configured phone number."""

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = (
            f"{settings.whatsapp_api_base}/{settings.whatsapp_api_version}/{settings.whatsapp_phone_number_id}/messages"
            if settings.whatsapp_api_version
            else f"{settings.whatsapp_api_base}/{settings.whatsapp_phone_number_id}/messages"
        )
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=20),
            headers={"Authorization": f"Bearer {self.settings.whatsapp_access_token}"},
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(self, out: Outgoing) -> SendResult:
        if not out.window_open:
            return SendResult("window_closed", code=str(WINDOW_CLOSED), detail="24-hour window closed")
        return await self._post(build_message(out))

    async def send_template(self, out: Outgoing, kind: str) -> tuple[SendResult, str]:
        name = self.settings.whatsapp_templates.get(kind, "")
        if not name:
            return SendResult("failed", code="no_template", detail=f"no template configured for {kind!r}"), ""
        language = self.settings.whatsapp_template_languages.get(out.language, "en")
        return await self._post(build_template(out, name, language)), name

    async def _post(self, body: dict[str, Any]) -> SendResult:
        assert self._http is not None, "client not started"
        try:
            async with self._http.post(self.url, json=body) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return SendResult("retry", code="network", detail=type(exc).__name__)
        if status == 200 and (data or {}).get("messages"):
            return SendResult("sent", external_id=str(data["messages"][0]["id"]))
        error = (data or {}).get("error") or {}
        code = error.get("code")
        detail = str(error.get("message") or f"HTTP {status}")[:500]
        if code == WINDOW_CLOSED:
            return SendResult("window_closed", code=str(code), detail=detail)
        if code in RETRY_CODES or status == 429 or status >= 500:
            after = float(retry_after) if retry_after and retry_after.isdigit() else None
            return SendResult("retry", retry_after=after, code=str(code or status), detail=detail)
        return SendResult("failed", code=str(code or status), detail=detail)
