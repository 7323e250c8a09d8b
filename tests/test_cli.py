"""The ``wegwijs`` command line, run as a real subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import load_settings
from cases.db import transaction
from cases.services import appointments
from tests.helpers import make_participant

WEGWIJS = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(
    args: list[str], db_url: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": db_url, **env}
    environment.pop("WEGWIJS_SECRET_KEY", None)
    environment.update(env)
    return subprocess.run(
        WEGWIJS + args, capture_output=True, text=True, env=environment, input=stdin, timeout=120, cwd=ROOT
    )


def ask(db_url: str, *args: str) -> dict:  # type: ignore[type-arg]
    result = run(["ask", "--json", *args], db_url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("lang", "text", "reply_start"),
    [("nl", "hallo", "Hallo!"), ("ar", "مرحبا", "مرحب"), ("ti", "ሰላም", "ሰላም"), ("uk", "привіт", "Вітаю")],
)
def test_ask_json(db_url: str, lang: str, text: str, reply_start: str) -> None:
    answer = ask(db_url, "--lang", lang, text)
    assert set(answer) >= {"replies", "language", "intent", "escalated"}
    assert answer["language"] == lang and answer["intent"] == "greeting" and answer["escalated"] is False
    assert answer["replies"][0]["text"].startswith(reply_start)
    assert {"label", "payload"} <= set(answer["replies"][0]["buttons"][0])


def test_ask_continues_a_session_and_escalates(db_url: str) -> None:
    first = ask(db_url, "--lang", "nl", "--session", "s1", "Praten met een medewerker")
    assert first["intent"] == "menu.person" and first["escalated"] is True
    second = ask(db_url, "--session", "s1", "Ik wil weten of ik een boete krijg")
    assert second["intent"] == "handoff_message" and second["escalated"] is True


async def test_ask_as_a_linked_participant(db_url: str, sessions) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    participant = await make_participant(sessions, reference="WW-7777")
    async with transaction(sessions) as session:
        await appointments.create_appointment(
            session,
            load_settings().planning(),
            participant=participant,
            type_key="leerbaarheidstoets",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
            location="Taalhuis, zaal 3",
        )
    unlinked = ask(db_url, "--lang", "en", "My appointments")
    assert "Taalhuis" not in unlinked["replies"][0]["text"]
    linked = ask(db_url, "--lang", "en", "--as", "ww-7777", "My appointments")
    assert (
        "Learnability test" in linked["replies"][0]["text"]
        and "Taalhuis, zaal 3" in linked["replies"][0]["text"]
    )
    missing = run(["ask", "--as", "WW-0000", "hallo"], db_url)
    assert missing.returncode == 1 and "no participant" in missing.stderr


def test_ask_batch_answers_each_line_as_a_new_conversation(db_url: str, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("hallo\nPraten met een medewerker\n\nhallo\n", encoding="utf-8")
    result = run(["ask", "--json", "--lang", "nl", "--batch", str(questions)], db_url)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["intent"] for a in answers] == ["greeting", "menu.person", "greeting"]
    assert len({a["session"] for a in answers}) == 3


def test_staff_add_and_koppelcode(db_url: str) -> None:
    added = run(
        [
            "staff",
            "add",
            "--name",
            "Fatima B",
            "--email",
            "F.B@Example.nl",
            "--role",
            "klantmanager",
            "--team",
            "Team Oost",
            "--language",
            "ar",
            "--password-stdin",
        ],
        db_url,
        stdin="a-long-password-123\n",
    )
    assert added.returncode == 0, added.stderr
    assert "f.b@example.nl" in added.stdout
    again = run(
        [
            "staff",
            "add",
            "--name",
            "X",
            "--email",
            "f.b@example.nl",
            "--role",
            "klantmanager",
            "--password-stdin",
        ],
        db_url,
        stdin="a-long-password-123\n",
    )
    assert again.returncode == 1 and "exists already" in again.stderr
    bad_role = run(
        ["staff", "add", "--name", "X", "--email", "x@example.nl", "--role", "admin", "--password-stdin"],
        db_url,
        stdin="a-long-password-123\n",
    )
    assert bad_role.returncode == 1 and "roles must be" in bad_role.stderr


async def test_koppelcode_command(db_url: str, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_participant(sessions, reference="WW-4242")
    result = run(["koppelcode", "WW-4242"], db_url)
    assert result.returncode == 0, result.stderr
    code = result.stdout.split()[0]
    linked = ask(db_url, "--lang", "nl", code)
    assert linked["replies"][0]["text"].startswith("Gelukt, Amina!")
    assert run(["koppelcode", "WW-0000"], db_url).returncode == 1


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"WEGWIJS_PORT": "eighty"}, "WEGWIJS_PORT"),
        ({"WEGWIJS_SECRET_KEY": "short"}, "WEGWIJS_SECRET_KEY"),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_setting(env: dict[str, str], names: str) -> None:
    result = run(["db", "upgrade"], "sqlite:///unused.db", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], result.stderr
    assert "short" not in lines[0], "secret values are never echoed"


def test_serve_needs_a_secret_key() -> None:
    result = run(["serve"], "sqlite:///unused.db")
    assert result.returncode == 2 and "WEGWIJS_SECRET_KEY" in result.stderr
