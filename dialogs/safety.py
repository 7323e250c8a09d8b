"""Recognises messages that signal danger: violence at home, threats, self-harm, exploitation.

A phrase from ``safety_lexicon.toml`` matches when its words occur in the message in order, each
phrase word matching a whole message word or its beginning ("sla" matches "slaat"). Texts are
folded first (case, accents, Arabic marks, letter variants), so spelling differences do not hide a
signal. Missing a real signal is worse than a false alarm; ordinary questions must stay quiet
(the lexicon's own test sentences check both).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
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


@cache
def _by_start() -> dict[str, tuple[tuple[int, Signal, tuple[str, ...]], ...]]:
    """The phrases by the first two letters of their first word (or its only letter), so a message
    is checked against the few phrases that can start at each of its words, not all of them."""
    index: dict[str, list[tuple[int, Signal, tuple[str, ...]]]] = defaultdict(list)
    for n, (category, language, words) in enumerate(_phrases()):
        index[words[0][:2]].append((n, Signal(category, language), words))
    return {key: tuple(found) for key, found in index.items()}


def detect(text: str) -> Signal | None:
    """The first safety signal in ``text`` (any language; first in lexicon order), or None."""
    words = fold(text).split()
    index = _by_start()
    best: tuple[int, Signal] | None = None
    for start, word in enumerate(words):
        for key in {word[:1], word[:2]}:
            for n, signal, phrase in index.get(key, ()):
                if best is not None and n >= best[0]:
                    continue
                if start + len(phrase) <= len(words) and all(
                    words[start + k].startswith(part) for k, part in enumerate(phrase)
                ):
                    best = (n, signal)
    return best[1] if best else None
