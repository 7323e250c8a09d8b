"""In a real headless Chromium: a web-chat conversation appears in the console of a klantmanager."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.app import create_app
from bot.settings import Settings, load_settings
from tests.conftest import SECRET
from tests.helpers import PASSWORD, make_participant, make_staff

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("WEGWIJS_SCREENSHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture
def settings(db_url: str) -> Settings:
    """No quiet hours: an invitation must reach the open web chat at once, whatever the hour."""
    return load_settings(
        database_url=db_url,
        secret_key=SECRET,
        cookie_secure=False,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
    )


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
    await console.wait_for_url("**/console/inbox")
    await console.goto(live_server + "/console/conversations")
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


async def _console_login(browser, live_server: str, email: str):  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    await page.goto(live_server + "/console")
    await page.get_by_label("E-mailadres").fill(email)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_load_state()
    return page


async def test_a_planner_invites_and_the_web_chat_user_confirms_with_one_tap(
    live_server: str, browser, sessions
) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from cases.db import transaction
    from cases.services import koppelcode
    from locales.catalog import t

    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await make_staff(sessions, "planner@example.nl", ["planner"])
    person = await make_participant(sessions, klantmanager=km)
    async with transaction(sessions) as session:
        code, _ = await koppelcode.create_koppelcode(session, person, valid_days=30, created_by=None)

    chat = await browser.new_page(locale="nl-NL")
    await chat.goto(live_server + "/")
    await chat.get_by_role("button", name="Ja, akkoord").click()
    await chat.get_by_role("button", name="Türkçe").click()
    await chat.get_by_label("Bericht").fill(code)
    await chat.get_by_label("Bericht").press("Enter")
    await chat.get_by_text(t("tr", "koppelcode.success", name="Amina")).wait_for(timeout=10_000)

    planner = await _console_login(browser, live_server, "planner@example.nl")
    await planner.goto(f"{live_server}/console/participants/{person.id}/appointments/new")
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    await planner.get_by_label("Soort afspraak").select_option("pip_gesprek")
    await planner.get_by_label("Datum").fill(day)
    await planner.get_by_label("Tijd", exact=True).fill("10:30")
    await planner.get_by_label("Adres of link").fill("Stadskantoor, balie 4")
    await planner.get_by_role("button", name="Afspraak maken").click()
    await planner.wait_for_url("**/console/appointments/*")
    await _shot(planner, "console-appointment")

    # The invitation reaches the open chat without a reload, in Turkish, with one-tap answers.
    confirm = chat.get_by_role("button", name=t("tr", "appointments.button.confirm"))
    await confirm.last.wait_for(timeout=15_000)
    assert "10:30" in await chat.locator("li.msg.out").last.inner_text()
    await _shot(chat, "webchat-invitation-tr")
    await confirm.last.click()
    await chat.get_by_text(t("tr", "appointments.confirmed").split("{")[0].strip()).last.wait_for(
        timeout=10_000
    )

    await planner.reload()
    facts = await planner.locator("dl.facts").inner_text()
    assert (
        "Bevestigd door deelnemer" in facts
        and "—" not in facts.split("Bevestigd door deelnemer")[1].split("\n")[1]
    )
    await planner.goto(f"{live_server}/console/agenda?dag={day}")
    assert "Stadskantoor, balie 4" in await planner.locator("table.agenda").inner_text()


@pytest.fixture
def english_models(settings, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Dutch ↔ English test models (random weights) in the folder the app uses."""
    from locales.translation import packages
    from tests.argos_packages import build

    out = tmp_path_factory.mktemp("browser-models")
    packages.use_directory(settings.translation_dir)
    for n, (source, target) in enumerate((("nl", "en"), ("en", "nl"))):
        packages.install_file(build(out, source, target, seed=40 + n))
    return settings.translation_dir


async def test_an_escalation_appears_live_and_the_reply_reaches_the_chat_in_its_language(
    english_models, live_server: str, browser, sessions
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from cases.db import transaction
    from cases.models import Message
    from cases.services import koppelcode
    from locales.catalog import t

    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km, first_name="Olena")
    async with transaction(sessions) as session:
        code, _ = await koppelcode.create_koppelcode(session, person, valid_days=30, created_by=None)

    console = await _console_login(browser, live_server, "km@example.nl")
    await console.wait_for_url("**/console/inbox")
    assert "Olena" not in await console.locator("table.inbox").inner_text()

    chat = await browser.new_page(locale="en-GB")
    await chat.goto(live_server + "/")
    await chat.get_by_role("button", name=t("en", "button.consent_yes")).click()  # the browser speaks English
    await chat.get_by_role("button", name="English").click()
    await chat.get_by_label("Bericht").fill(code)
    await chat.get_by_label("Bericht").press("Enter")
    await chat.get_by_text(t("en", "koppelcode.success", name="Olena")).wait_for(timeout=10_000)
    await chat.get_by_role("button", name=t("en", "menu.button.person")).last.click()
    await chat.get_by_label("Bericht").fill("Can I get more time for my exams?")
    await chat.get_by_label("Bericht").press("Enter")

    # The inbox shows it without a reload (server-sent events).
    row = console.locator("table.inbox tr.unread", has_text="Olena")
    await row.wait_for(timeout=15_000)
    assert (await console.locator("#unread").inner_text()).strip() == "1"
    await _shot(console, "console-inbox-live")
    await row.get_by_role("link").click()
    await console.get_by_text("Can I get more time for my exams?").first.wait_for()
    await console.get_by_role("button", name="Zelf oppakken").click()
    dutch = "U kunt verlenging aanvragen bij DUO. Ik help u daarbij."
    await console.get_by_label("Uw antwoord (Nederlands)").fill(dutch)
    await console.get_by_role("button", name="Voorbeeld en vertaling bekijken").click()
    await console.locator("#preview-translation").wait_for()
    await console.locator("#preview-back").wait_for()
    await _shot(console, "console-reply-preview")
    await console.get_by_role("button", name="Versturen").click()
    await console.wait_for_url("**/console/escalations/*")

    # The web-chat user gets the reply in English (machine-translated), marked as from a person.
    staff_reply = chat.locator("li.msg.out", has_text=t("en", "person.staff_label"))
    await staff_reply.wait_for(timeout=15_000)
    async with sessions() as session:
        stored = await session.scalar(select(Message).where(Message.intent == "staff_reply"))
    assert stored is not None and stored.language == "en"
    assert (await staff_reply.inner_text()).strip().endswith(stored.text.split("\n", 1)[1].strip())
    await _shot(chat, "webchat-staff-reply")

    # The case shows both texts: what the person read, and the Dutch the klantmanager wrote.
    await console.goto(f"{live_server}/console/participants/{person.id}#gesprek")
    transcript = await console.locator("table.transcript").inner_text()
    assert dutch in transcript and stored.text.split("\n", 1)[1] in transcript
