"""Logging without personal data: BSN, IBAN and phone numbers are masked in every log line, and
libraries that log the text they work on are kept quiet."""

from __future__ import annotations

import logging
from typing import TextIO

from cases.sensitive import mask

# They log the texts they handle (translations, SQL parameters) at INFO or DEBUG.
QUIET = ("argostranslate", "stanza", "ctranslate2", "aiosqlite", "asyncpg", "sqlalchemy.engine")


class MaskingFilter(logging.Filter):
    """Drops the chatty libraries' lines below WARNING (whatever level they set for themselves) and
    masks sensitive numbers in the formatted message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.startswith(QUIET):
            return False
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """The serving process's logging: one handler on the root logger, with the masking filter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
