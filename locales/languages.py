"""The languages Wegwijs speaks, with their native names and writing direction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str
    dutch_name: str
    rtl: bool = False

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


# Order is the order of the language menu.
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("nl", "Nederlands", "Nederlands"),
        Language("en", "English", "Engels"),
        Language("ar", "العربية", "Arabisch", rtl=True),
        Language("ti", "ትግርኛ", "Tigrinya"),
        Language("fa", "فارسی/دری", "Farsi/Dari", rtl=True),
        Language("tr", "Türkçe", "Turks"),
        Language("uk", "Українська", "Oekraïens"),
        Language("so", "Soomaali", "Somalisch"),
    )
}
DEFAULT_LANGUAGE = "nl"


def supported(code: str | None) -> str | None:
    """The supported language for a code like 'ar', 'AR' or 'fa-AF' (Dari maps to fa), else None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    base = {"prs": "fa", "per": "fa", "tir": "ti", "som": "so", "ukr": "uk", "tur": "tr"}.get(base, base)
    return base if base in LANGUAGES else None


def script_hint(text: str) -> str | None:
    """A language suggested by the script alone: Ethiopic → ti, Cyrillic → uk, Arabic script → ar/fa."""
    counts = {"ti": 0, "uk": 0, "arabic": 0, "persian": 0}
    for ch in text:
        cp = ord(ch)
        if 0x1200 <= cp <= 0x137F:
            counts["ti"] += 1
        elif 0x0400 <= cp <= 0x04FF:
            counts["uk"] += 1
        elif 0x0600 <= cp <= 0x06FF:
            counts["arabic"] += 1
            if ch in "پچژگکی":  # letters Persian uses and Arabic does not
                counts["persian"] += 1
    best = max(("ti", "uk", "arabic"), key=lambda k: counts[k])
    if counts[best] == 0:
        return None
    if best == "arabic":
        return "fa" if counts["persian"] else "ar"
    return best
