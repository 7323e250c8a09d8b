"""Words people type that the engine recognises, per language (input, not bot texts)."""

from __future__ import annotations

import re
import unicodedata

GREETINGS = {
    "nl": ["hallo", "hoi", "hey", "goedemorgen", "goedemiddag", "goedenavond", "dag", "goedendag"],
    "en": ["hello", "hi", "hey", "good morning", "good afternoon", "good evening"],
    "ar": ["مرحبا", "مرحباً", "السلام عليكم", "سلام", "اهلا", "أهلا", "صباح الخير", "مساء الخير"],
    "ti": ["ሰላም", "ከመይ", "ከመይ ኣለኻ", "ከመይ ኣለኺ", "ሰላም ንዓኹም"],
    "fa": ["سلام", "درود", "سلام علیکم", "صبح بخیر", "روز بخیر"],
    "tr": ["merhaba", "selam", "selamlar", "günaydın", "iyi günler", "iyi akşamlar", "merhabalar"],
    "uk": ["привіт", "вітаю", "добрий день", "доброго дня", "доброго ранку", "добрий вечір", "здрастуйте"],
    "so": ["salaan", "iska warran", "nabad", "subax wanaagsan", "galab wanaagsan", "asc", "salaam"],
}

# "No more reminders": the whole message must be one of these (so "stop met roken?" is a question).
STOP_WORDS = [
    "stop",
    "stoppen",
    "geen herinneringen",
    "stop herinneringen",
    "afmelden",
    "stop reminders",
    "no more reminders",
    "unsubscribe",
    "توقف",
    "إيقاف",
    "ايقاف",
    "قف",
    "ستوب",
    "ኣቁም",
    "ደው በል",
    "ደው ኣብል",
    "ኣይትዘኻኽሩኒ",
    "لغو",
    "بس",
    "دیگر یادآوری نفرستید",
    "dur",
    "durdur",
    "iptal",
    "hatırlatma istemiyorum",
    "стоп",
    "зупинити",
    "не надсилайте нагадування",
    "відписатися",
    "jooji",
    "ka bax",
    "stop xusuusin",
]

# "Delete my data" (AVG): the whole message, in each language as people type it.
DELETE_WORDS = [
    "wis mijn gegevens",
    "verwijder mijn gegevens",
    "gegevens wissen",
    "wis mijn data",
    "delete my data",
    "erase my data",
    "delete my information",
    "remove my data",
    "احذف بياناتي",
    "امسح بياناتي",
    "حذف بياناتي",
    "ሓበሬታይ ደምስሱ",
    "ሓበሬታይ ደምስስ",
    "ሓበሬታይ ሰርዙ",
    "اطلاعاتم را پاک کنید",
    "اطلاعات من را پاک کنید",
    "اطلاعاتم را حذف کنید",
    "verilerimi sil",
    "bilgilerimi sil",
    "verilerimi silin",
    "видаліть мої дані",
    "видалити мої дані",
    "видали мої дані",
    "tirtir xogtayda",
    "tirtir macluumaadkayga",
    "xogtayda tirtir",
]

MENU_WORDS = ["menu", "start", "begin", "home", "menü", "меню", "قائمة", "القائمة", "منو", "ሜኑ", "liiska"]


def normalise(text: str) -> str:
    """Lower-case, strip accents that people often omit, and fold punctuation and spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\u064B-\u0652\u0640]", "", text)  # Arabic vowel marks and tatweel
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_FOLD = str.maketrans({"ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "ۀ": "ه", "ı": "i", "ё": "е", "ـ": None})


def fold(text: str) -> str:
    """``normalise`` plus what people leave out or spell both ways: accents and marks, Arabic and
    Persian letter variants, Turkish dotless i. For matching only, never for display."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return normalise(unicodedata.normalize("NFC", stripped)).translate(_FOLD)


_GREETING_SET = {normalise(g) for words in GREETINGS.values() for g in words}
_MENU_SET = {normalise(w) for w in MENU_WORDS}
_STOP_SET = {normalise(w) for w in STOP_WORDS}
_DELETE_SET = {normalise(w) for w in DELETE_WORDS}


def is_greeting(text: str) -> bool:
    """True for a short message that is only a greeting ('hallo', 'مرحبا!', 'hi there')."""
    norm = normalise(text)
    if not norm or len(norm) > 40:
        return False
    if norm in _GREETING_SET:
        return True
    words = norm.split()
    return len(words) <= 3 and any(" ".join(words[:n]) in _GREETING_SET for n in (1, 2))


def is_menu_word(text: str) -> bool:
    """True when the person asks for the menu."""
    return normalise(text) in _MENU_SET


def is_stop_word(text: str) -> bool:
    """True when the whole message asks to stop reminders ("STOP", "توقف", "jooji")."""
    return normalise(text) in _STOP_SET


def is_delete_request(text: str) -> bool:
    """True when the whole message asks to delete the person's data."""
    return normalise(text) in _DELETE_SET
