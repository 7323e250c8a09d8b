"""Recognises messages that signal danger: violence at home, threats, self-harm, exploitation.

A phrase from ``safety_lexicon.toml`` matches when its words occur in the message in order, each
phrase word matching a whole message word or its beginning ("sla" matches "slaat"). Texts are
folded first (case, accents, Arabic marks, letter variants), so spelling differences do not hide a
signal. Missing a real signal is worse than a false alarm; ordinary questions must stay quiet
(the lexicon's own test sentences check both).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dialogs.vocabulary import fold

LEXICON = Path(__file__).with_name("safety_lexicon.toml")
CATEGORIES = ("violence", "threat", "self_harm", "exploitation")


@dataclass(frozen=True)
class Signal:
    category: str
    language: str


@cache
def _phrases() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    with LEXICON.open("rb") as fh:
        data = tomllib.load(fh)
    found = []
    for language, categories in data.items():
        if language in ("harmless", "signals"):
            continue
        for category in CATEGORIES:
            for phrase in categories.get(category, []):
                words = tuple(fold(phrase).split())
                if words:
                    found.append((category, language, words))
    return tuple(found)


def _contains(message: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    for start in range(len(message) - n + 1):
        if all(message[start + k].startswith(phrase[k]) for k in range(n)):
            return True
    return False


def detect(text: str) -> Signal | None:
    """The first safety signal in ``text`` (any language), or None."""
    words = fold(text).split()
    if not words:
        return None
    for category, language, phrase in _phrases():
        if _contains(words, phrase):
            return Signal(category, language)
    return None
