"""Language detection on short and long samples in all eight languages, with the chosen-language rule."""

from __future__ import annotations

import pytest

from locales.translation.detect import detect, detect_raw

LONG = {
    "nl": "Goedemiddag, ik wil graag weten wanneer mijn volgende afspraak bij de gemeente is en wat ik moet meenemen.",
    "en": "Good afternoon, I would like to know when my next appointment with the municipality is and what to bring.",
    "ar": "مساء الخير، أريد أن أعرف متى موعدي القادم في البلدية وما هي الأوراق التي يجب أن أحضرها معي.",
    "ti": "ከመይ ኣምሲኹም፣ ቀጻሊ ቆጸራይ ኣብ ምምሕዳር መዓስ ከም ዝኾነን እንታይ ሒዘ ክመጽእ ከም ዘለኒን ክፈልጥ እደሊ።",
    "fa": "عصر بخیر، می‌خواهم بدانم قرار ملاقات بعدی من در شهرداری کی است و چه مدارکی باید با خودم بیاورم.",
    "tr": "İyi günler, belediyedeki bir sonraki randevumun ne zaman olduğunu ve yanımda ne getirmem gerektiğini öğrenmek istiyorum.",
    "uk": "Добрий день, я хотів би дізнатися, коли моя наступна зустріч у муніципалітеті і що мені потрібно принести.",
    "so": "Galab wanaagsan, waxaan rabaa inaan ogaado goorta ballantayda xigta ee dowladda hoose iyo waxa aan keeni karo.",
}
SHORT = {  # as people type: no capitals, no punctuation, Dutch terms mixed in
    "nl": "wanneer is mijn afspraak",
    "en": "when is my appointment",
    "ar": "متى موعد PIP الخاص بي",
    "ti": "ቆጸራ PIP መዓስ እዩ",
    "fa": "وقت ملاقات PIP من کی است",
    "tr": "pip randevum ne zaman",
    "uk": "коли моя зустріч DUO",
    "so": "goorma ayuu yahay ballanta",
}


@pytest.mark.parametrize("language", list(LONG))
def test_long_samples_are_recognised_with_high_confidence(language: str) -> None:
    found = detect_raw(LONG[language])
    assert found.language == language
    assert found.confidence >= 0.9


@pytest.mark.parametrize("language", list(SHORT))
def test_short_samples_are_recognised(language: str) -> None:
    assert detect_raw(SHORT[language]).language == language


@pytest.mark.parametrize("language", list(SHORT))
def test_short_text_in_the_chosen_language_keeps_it(language: str) -> None:
    assert detect(SHORT[language], chosen=language).language == language


@pytest.mark.parametrize(
    ("chosen", "text"), [("nl", "ok"), ("tr", "ok"), ("en", "ja"), ("so", "hallo"), ("nl", "PIP?")]
)
def test_the_chosen_language_wins_when_the_text_says_little(chosen: str, text: str) -> None:
    found = detect(text, chosen=chosen)
    assert found.language == chosen


@pytest.mark.parametrize(
    ("chosen", "written"),
    [("nl", "en"), ("ar", "en"), ("tr", "nl"), ("ar", "fa"), ("en", "uk"), ("nl", "ti")],
)
def test_a_clear_switch_is_followed(chosen: str, written: str) -> None:
    assert detect(LONG[written], chosen=chosen).language == written


def test_text_without_letters_falls_back_to_the_chosen_language() -> None:
    assert detect("😀 👍 12:30", chosen="uk").language == "uk"
    assert detect_raw("😀 👍").language is None
