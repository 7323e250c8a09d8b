"""Sensitive numbers in free text: BSN (with the elfproef), IBAN (with its check digits) and phone
numbers. They are masked in console lists, notifications and logs; staff reveal one on purpose,
and that is audited."""

from __future__ import annotations

import re

_BSN = re.compile(r"(?<![\d.,])(\d{4}[.\s]?\d{2}[.\s]?\d{3}|\d{9})(?![\d.,]*\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d{1,3}[\s-]?\(?0?\)?|0)(?:[\s-]?\d){8,11}(?!\d)")
LABELS = {"bsn": "[BSN verborgen]", "iban": "[IBAN verborgen]", "phone": "[telefoonnummer verborgen]"}


def is_bsn(digits: str) -> bool:
    """The elfproef: 9 digits, weighted 9..2 and −1, a multiple of 11 (and not all zeros)."""
    if len(digits) != 9 or not digits.isdigit() or set(digits) == {"0"}:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def is_iban(text: str) -> bool:
    """ISO 13616 check digits (mod 97 = 1)."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def find(text: str) -> list[tuple[str, str]]:
    """The sensitive numbers in ``text`` as (kind, match), IBANs before phone numbers and BSNs."""
    found: list[tuple[str, str]] = []
    for match in _IBAN.finditer(text):
        if is_iban(match.group(0)):
            found.append(("iban", match.group(0)))
    rest = _strip(text, [m for _, m in found])
    for match in _BSN.finditer(rest):
        if is_bsn(re.sub(r"\D", "", match.group(0))):
            found.append(("bsn", match.group(0)))
    rest = _strip(rest, [m for kind, m in found if kind == "bsn"])
    for match in _PHONE.finditer(rest):
        found.append(("phone", match.group(0).strip()))
    return found


def _strip(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, " ")
    return text


def mask(text: str | None) -> str:
    """``text`` with every BSN, IBAN and phone number replaced by a label saying what was there."""
    if not text:
        return text or ""
    for kind, value in find(text):
        text = text.replace(value, LABELS[kind])
    return text


def has_sensitive(text: str | None) -> bool:
    return bool(text) and bool(find(text or ""))
