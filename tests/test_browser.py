"""In a real headless Chromium: a web-chat conversation appears in the console of a klantmanager."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.app import create_app
from tests.helpers import PASSWORD, make_staff

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("WEGWIJS_SCREENSHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture
async def live_server(settings) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        await browser.close()


async def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        await page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


async def test_webchat_conversation_shows_up_in_the_console(live_server: str, browser, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    chat = await browser.new_page(locale="nl-NL")
    await chat.goto(live_server + "/")
    await chat.get_by_role("button", name="Ja, akkoord").click()
    await chat.get_by_role("button", name="العربية").click()
    await chat.locator("html[dir=rtl][lang=ar]").wait_for(state="attached")
    question = "شو هو ال PIP ومتى لازم يكون جاهز"  # starts with Arabic, contains a Latin term
    answers_before = await chat.locator("li.msg.out").count()
    await chat.get_by_label("Bericht").fill(question)
    await chat.get_by_label("Bericht").press("Enter")
    for _ in range(100):  # the bot answers (an article, a choice of topics, or a person)
        if await chat.locator("li.msg.out").count() > answers_before:
            break
        await chat.wait_for_timeout(100)
    assert await chat.locator("li.msg.out").count() > answers_before
    # A bot answer that starts with a Latin term (PIP) is still laid out right-to-left.
    assert await chat.locator("li.msg.out").last.get_attribute("dir") == "rtl"
    await _shot(chat, "webchat-ar")

    # A reload keeps the conversation (the transcript comes back over the websocket).
    await chat.reload()
    await chat.get_by_text(question).wait_for(timeout=10_000)

    console = await browser.new_page()
    await console.goto(live_server + "/console")
    await console.get_by_label("E-mailadres").fill("km@example.nl")
    await console.get_by_label("Wachtwoord").fill(PASSWORD)
    await console.get_by_role("button", name="Inloggen").click()
    await console.wait_for_url("**/console/conversations")
    await console.get_by_role("link", name="Niet gekoppeld", exact=False).first.click()
    await console.get_by_text(question).wait_for(timeout=10_000)
    for _ in range(50):  # the Dutch version is made in the background, right after the answer
        row_text = await console.locator("tr.inbound").last.inner_text()
        if "Wordt vertaald" not in row_text:
            break
        await console.wait_for_timeout(100)
        await console.reload()
    assert question in row_text
    assert "Niet vertaald" in row_text, "an untranslated Arabic message is marked so for staff"
    await _shot(console, "console-conversation")
