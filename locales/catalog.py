"""Bot texts per language, loaded from ``locales/messages/<code>.toml``.

Nothing here is machine-translated at run time: every text was written for its language.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from locales.languages import DEFAULT_LANGUAGE, LANGUAGES

MESSAGES_DIR = Path(__file__).parent / "messages"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Catalog:
    language: str
    status: str  # draft | reviewed
    reviewed_on: str
    messages: dict[str, str]
    sources: dict[str, str]  # key → seed file and lines (kept in the Dutch source catalog)


class MissingMessage(KeyError):
    """A key is missing from the catalog (a test guards that this never happens)."""


@cache
def catalog(language: str) -> Catalog:
    """The catalog of one language (read once per process)."""
    with (MESSAGES_DIR / f"{language}.toml").open("rb") as fh:
        data = tomllib.load(fh)
    meta = data.get("meta", {})
    return Catalog(
        language=language,
        status=str(meta.get("status", "draft")),
        reviewed_on=str(meta.get("reviewed_on", "")),
        messages={str(k): str(v) for k, v in data.get("messages", {}).items()},
        sources={str(k): str(v) for k, v in data.get("sources", {}).items()},
    )


def t(language: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``language`` with ``params`` filled in."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    try:
        text = catalog(lang).messages[key]
    except KeyError:
        raise MissingMessage(f"{lang}:{key}") from None
    return text.format(**params) if params else text


def all_texts(key: str) -> dict[str, str]:
    """The text for ``key`` in every language (to recognise a typed button label, say)."""
    return {code: catalog(code).messages[key] for code in LANGUAGES}


@lru_cache(maxsize=8192)  # appointments share times (slots on the hour), reminders go out in bulk
def format_local_datetime(
    when: dt.datetime, language: str, timezone: str = "Europe/Amsterdam"
) -> tuple[str, str]:
    """Date and time in the person's language, in the gemeente's time zone."""
    local = when.astimezone(ZoneInfo(timezone))
    return (
        format_date(local.date(), format="full", locale=language),
        format_time(local.time(), format="short", locale=language),
    )


def format_short_datetime(when: dt.datetime, language: str, timezone: str = "Europe/Amsterdam") -> str:
    """A short date and time for a button label ("di 1 dec. 09:30"), at most 24 characters."""
    local = when.astimezone(ZoneInfo(timezone))
    return format_datetime(local, "EEE d MMM HH:mm", tzinfo=ZoneInfo(timezone), locale=language)[:24]


def sentence(language: str, text: str) -> str:
    """``text`` ending like a sentence in ``language`` (a place put before "Can you come?")."""
    stop = "።" if language == "ti" else "."
    return text if not text or text[-1] in ".!?።؟" else text + stop
