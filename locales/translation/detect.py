"""Which language a free text is in: script hints, py3langid and pycld2, all with models in their wheels.

The language the person chose wins, unless they clearly write in another one: another script, or a
long enough text that the detector is very sure about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import py3langid.langid as langid
import pycld2

from locales.languages import LANGUAGES

CANDIDATES_BY_SCRIPT = {
    "latin": ("nl", "en", "tr", "so"),
    "arabic": ("ar", "fa"),
    "cyrillic": ("uk",),
    "ethiopic": ("ti",),
}
SCRIPT_OF_LANGUAGE = {code: s for s, codes in CANDIDATES_BY_SCRIPT.items() for code in codes}
PERSIAN_LETTERS = set("پچژگکی")
CLEAR_SWITCH_CONFIDENCE = 0.95
CLEAR_SWITCH_MIN_LETTERS = 12
_NOISE = re.compile(r"https?://\S+|\S+@\S+|[\d_]+")


@dataclass(frozen=True)
class Detection:
    language: str | None
    confidence: float  # 0..1
    method: str  # script | langid | cld2 | chosen | none


@cache
def _identifier() -> langid.LanguageIdentifier:
    return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


def _script(ch: str) -> str | None:
    cp = ord(ch)
    if 0x1200 <= cp <= 0x139F or 0x2D80 <= cp <= 0x2DDF:
        return "ethiopic"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0xFB50 <= cp <= 0xFEFF:
        return "arabic"
    if 0x0400 <= cp <= 0x04FF:
        return "cyrillic"
    if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
        return "latin"
    return None


def _letters_by_script(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if (s := _script(ch)) is not None:
            counts[s] = counts.get(s, 0) + 1
    return counts


def _ranked(text: str, candidates: tuple[str, ...]) -> list[tuple[str, float]]:
    scores = {lang: p for lang, p in _identifier().rank(text) if lang in candidates}
    total = sum(scores.values()) or 1.0
    return sorted(((lang, p / total) for lang, p in scores.items()), key=lambda x: -x[1])


def _cld2(text: str, candidates: tuple[str, ...]) -> tuple[str, float] | None:
    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:
        return None
    code, percent = details[0][1], details[0][2]
    return (code, percent / 100) if reliable and code in candidates else None


def detect_raw(text: str) -> Detection:
    """The language of ``text`` on its own, without regard to what the person chose."""
    cleaned = _NOISE.sub(" ", text)
    counts = _letters_by_script(cleaned)
    if not counts:
        return Detection(None, 0.0, "none")
    script = max(counts, key=lambda s: counts[s])
    candidates = CANDIDATES_BY_SCRIPT[script]
    if len(candidates) == 1:
        return Detection(candidates[0], 0.99, "script")
    ranked = _ranked(cleaned, candidates)
    best, prob = ranked[0] if ranked else (candidates[0], 0.0)
    if script == "arabic" and PERSIAN_LETTERS & set(cleaned) and best == "ar":
        best, prob = "fa", max(prob, 0.6)  # letters Arabic does not use
    second = _cld2(cleaned, candidates)
    if second is not None and second[0] == best:
        return Detection(best, max(prob, second[1]), "langid+cld2")
    return Detection(best, prob, "langid")


def detect(text: str, chosen: str | None = None) -> Detection:
    """The language to treat ``text`` as: the chosen one unless the person clearly switched."""
    found = detect_raw(text)
    if chosen not in LANGUAGES or found.language is None or found.language == chosen:
        return found if found.language is not None or chosen is None else Detection(chosen, 0.0, "chosen")
    if SCRIPT_OF_LANGUAGE.get(found.language) != SCRIPT_OF_LANGUAGE.get(chosen):
        letters = _letters_by_script(_NOISE.sub(" ", text))
        script = SCRIPT_OF_LANGUAGE[found.language]
        if letters.get(script, 0) >= 0.8 * sum(letters.values()):
            return found  # another script: they clearly write another language
        return Detection(chosen, found.confidence, "chosen")
    cleaned = _NOISE.sub(" ", text)
    letters = sum(_letters_by_script(cleaned).values())
    if found.confidence >= CLEAR_SWITCH_CONFIDENCE and letters >= CLEAR_SWITCH_MIN_LETTERS:
        return found
    if chosen == "ar" and found.language == "fa" and PERSIAN_LETTERS & set(cleaned):
        return found  # letters Arabic does not have
    p_chosen = dict(_ranked(cleaned, CANDIDATES_BY_SCRIPT[SCRIPT_OF_LANGUAGE[chosen]])).get(chosen, 0.0)
    return Detection(chosen, p_chosen, "chosen")


@cache
def _full_identifier() -> langid.LanguageIdentifier:
    return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


def other_language(text: str, *, min_confidence: float = 0.9, min_letters: int = 12) -> str | None:
    """A language outside the eight that ``text`` is clearly written in (e.g. German), else None."""
    cleaned = _NOISE.sub(" ", text)
    if sum(_letters_by_script(cleaned).values()) < min_letters:
        return None
    language, probability = _full_identifier().classify(cleaned)
    if language in LANGUAGES or probability < min_confidence:
        return None
    return str(language)
