"""Every bot text exists in all eight languages, with the same placeholders, and is really translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from locales.catalog import PLACEHOLDER, catalog
from locales.languages import LANGUAGES

SOURCE = catalog("nl")
OTHERS = [code for code in LANGUAGES if code != "nl"]
# Keys whose text may legitimately be the same as in Dutch (none today; add with a reason).
SAME_AS_DUTCH_ALLOWED: dict[str, set[str]] = {
    "en": {"menu.button.menu", "menu.button.privacy"}
}  # same word in English


def test_all_eight_languages_have_a_catalog() -> None:
    assert set(LANGUAGES) == {"nl", "en", "ar", "ti", "fa", "tr", "uk", "so"}
    for code in LANGUAGES:
        assert catalog(code).language == code
        assert catalog(code).status in {"draft", "reviewed"}


@pytest.mark.parametrize("code", OTHERS)
def test_no_missing_or_extra_keys(code: str) -> None:
    keys = set(catalog(code).messages)
    assert not (set(SOURCE.messages) - keys), f"{code} is missing keys"
    assert not (keys - set(SOURCE.messages)), f"{code} has keys Dutch does not have"


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_placeholders_match_the_source(code: str) -> None:
    for key, text in catalog(code).messages.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(SOURCE.messages[key])), (
            f"{code}:{key} placeholders differ"
        )
        # Every placeholder can be filled: format must not fail on stray braces.
        text.format(**{name: "x" for name in PLACEHOLDER.findall(text)})


@pytest.mark.parametrize("code", OTHERS)
def test_texts_are_translated(code: str) -> None:
    allowed = SAME_AS_DUTCH_ALLOWED.get(code, set())
    same = [
        k
        for k, v in catalog(code).messages.items()
        if v.strip() == SOURCE.messages[k].strip() and k not in allowed
    ]
    assert not same, f"{code} has untranslated keys: {same}"
    empty = [k for k, v in catalog(code).messages.items() if not v.strip()]
    assert not empty, f"{code} has empty texts: {empty}"


SCRIPTS = {"ar": (0x0600, 0x06FF), "fa": (0x0600, 0x06FF), "ti": (0x1200, 0x137F), "uk": (0x0400, 0x04FF)}


@pytest.mark.parametrize("code", list(SCRIPTS))
def test_non_latin_languages_are_written_in_their_script(code: str) -> None:
    low, high = SCRIPTS[code]
    for key, text in catalog(code).messages.items():
        assert any(low <= ord(ch) <= high for ch in text), f"{code}:{key} has no text in its own script"


FACT_KEYS = [k for k in SOURCE.messages if k.startswith("topic.") and k.endswith(".answer")] + [
    "documents.general"
]


def test_every_text_that_states_facts_cites_its_source() -> None:
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    for key in FACT_KEYS:
        source = SOURCE.sources.get(key, "")
        assert re.search(r"\d{3}_[0-9a-f]{16}\.txt L\d+", source), f"{key} has no seed source"
        if seeds.exists():
            for name in re.findall(r"\d{3}_[0-9a-f]{16}\.txt", source):
                assert (seeds / name).exists(), f"{key} cites a seed that does not exist: {name}"
    assert set(SOURCE.sources) <= set(SOURCE.messages), "a source names a key that does not exist"
