"""A small client for the web-chat websocket protocol, as the page speaks it."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient


class ChatClient:
    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.session: str = ""
        self.language: str = ""
        self.dir: str = ""
        self.transcript: list[dict[str, Any]] = []
        self._buffer: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls, client: TestClient, session: str | None = None, language: str = "nl"
    ) -> ChatClient:
        chat = cls(await client.ws_connect("/ws"))
        await chat.ws.send_json({"type": "hello", "session": session, "language": language})
        hello = await chat.receive("session")
        chat.session, chat.language, chat.dir = hello["session"], hello["language"], hello["dir"]
        chat.transcript = (await chat.receive("transcript"))["messages"]
        return chat

    async def receive(self, kind: str | None = None, wait_seconds: float = 10) -> dict[str, Any]:
        """The next frame of ``kind``; frames of other kinds are kept for later calls, in order."""
        for i, data in enumerate(self._buffer):
            if kind is None or data["type"] == kind:
                return self._buffer.pop(i)
        while True:
            data = await self.ws.receive_json(timeout=wait_seconds)
            if kind is None or data["type"] == kind:
                return data  # type: ignore[no-any-return]
            self._buffer.append(data)

    async def replies(self, count: int) -> list[dict[str, Any]]:
        return [await self.receive("message") for _ in range(count)]

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or uuid.uuid4().hex
        await self.ws.send_json({"type": "message", "id": client_id, "text": text})
        return await self.receive("ack")

    async def tap(self, payload: str, label: str = "") -> dict[str, Any]:
        await self.ws.send_json(
            {"type": "button", "id": uuid.uuid4().hex, "payload": payload, "label": label or payload}
        )
        return await self.receive("ack")

    async def close(self) -> None:
        await self.ws.close()
