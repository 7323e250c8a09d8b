"""Loads the knowledge base: ``articles.toml`` (facts about each article: audience, source, review
date, follow-ups) and ``<lang>.toml`` (its title, short answer, longer part and example questions).

Content is data: staff read and review these files; nothing is machine-translated at run time.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from locales.languages import LANGUAGES

KNOWLEDGE_DIR = Path(__file__).parent
AUDIENCES = ("all", "statushouder", "gezinsmigrant")
REGIMES = ("both", "Wi2013", "Wi2021")
SOURCE_RE = re.compile(r"\d{3}_[0-9a-f]{16}\.txt L\d+")
SHORT_MAX_WORDS = 90  # "about 80 words at most"
TITLE_MAX = 24  # a WhatsApp list row title


@dataclass(frozen=True)
class ArticleText:
    title: str
    short: str
    long: str
    questions: tuple[str, ...]
    status: str  # draft | reviewed


@dataclass(frozen=True)
class Article:
    id: str
    topic: str
    audience: str
    wet_regime: str
    offer_person: bool
    personal: bool
    follow_up: tuple[str, ...]
    source: str
    review_date: dt.date
    texts: dict[str, ArticleText]

    def text(self, language: str) -> ArticleText:
        """The article in ``language`` (Dutch when that language is missing)."""
        return self.texts.get(language) or self.texts["nl"]


@dataclass(frozen=True)
class KnowledgeBase:
    articles: dict[str, Article]
    status: dict[str, str]  # language → draft | reviewed

    def by_topic(self, topic: str) -> list[Article]:
        return [a for a in self.articles.values() if a.topic == topic]

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(a.topic for a in self.articles.values()))


def load(directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
    """Read the knowledge base from ``directory``."""
    with (directory / "articles.toml").open("rb") as fh:
        meta = tomllib.load(fh)
    texts: dict[str, dict[str, ArticleText]] = {}
    status: dict[str, str] = {}
    for code in LANGUAGES:
        path = directory / f"{code}.toml"
        if not path.exists():
            continue
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        status[code] = str(data.get("meta", {}).get("status", "draft"))
        for article_id, entry in data.get("articles", {}).items():
            texts.setdefault(article_id, {})[code] = ArticleText(
                title=str(entry.get("title", "")),
                short=str(entry.get("short", "")),
                long=str(entry.get("long", "")),
                questions=tuple(str(q) for q in entry.get("questions", [])),
                status=str(entry.get("status", status[code])),
            )
    articles = {}
    for entry in meta["article"]:
        article_id = entry["id"]
        articles[article_id] = Article(
            id=article_id,
            topic=entry.get("topic", article_id),
            audience=entry.get("audience", "all"),
            wet_regime=entry.get("wet_regime", "both"),
            offer_person=bool(entry.get("offer_person", False)),
            personal=bool(entry.get("personal", False)),
            follow_up=tuple(entry.get("follow_up", [])),
            source=str(entry.get("source", "")),
            review_date=dt.date.fromisoformat(str(entry["review_date"])),
            texts=texts.get(article_id, {}),
        )
    return KnowledgeBase(articles, status)


@cache
def default() -> KnowledgeBase:
    """The knowledge base shipped with Wegwijs (read once per process)."""
    return load()


def problems(kb: KnowledgeBase) -> list[str]:
    """Everything wrong with the knowledge base; empty when it is complete and consistent."""
    found = []
    for article in kb.articles.values():
        where = f"article {article.id}"
        if not SOURCE_RE.search(article.source):
            found.append(f"{where}: no seed source (file and line)")
        if article.audience not in AUDIENCES:
            found.append(f"{where}: audience {article.audience!r}")
        if article.wet_regime not in REGIMES:
            found.append(f"{where}: wet_regime {article.wet_regime!r}")
        for other in article.follow_up:
            if other not in kb.articles:
                found.append(f"{where}: follow-up {other!r} does not exist")
        for code in LANGUAGES:
            text = article.texts.get(code)
            if text is None:
                found.append(f"{where}: missing in {code}")
                continue
            if not text.title or not text.short or not text.questions:
                found.append(f"{where} [{code}]: title, short answer and questions are required")
            if len(text.title) > TITLE_MAX:
                found.append(f"{where} [{code}]: title longer than {TITLE_MAX} characters")
            if code == "nl" and len(text.short.split()) > SHORT_MAX_WORDS:
                found.append(f"{where} [nl]: short answer over {SHORT_MAX_WORDS} words")
            for field_text in (text.title, text.short, text.long, *text.questions):
                if "{" in field_text or "}" in field_text:
                    found.append(f"{where} [{code}]: a placeholder or brace in the text")
            if text.status not in ("draft", "reviewed"):
                found.append(f"{where} [{code}]: status {text.status!r}")
    return found
