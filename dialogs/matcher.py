"""Finds the knowledge-base topic a free-text question is about, in any of the eight languages.

Each language has its own index of the articles' titles and example questions, plus the Dutch
ones at a lower weight (people mix in Dutch terms such as PIP, DUO or inburgering). Texts become
TF-IDF vectors of character n-grams (robust to typos and missing punctuation) and whole words.
Words that occur in the examples of many topics ("what", "my", "how") are left out: they say
nothing about the topic. A question scores against every example by cosine similarity, and a
topic scores the mean of its three best examples (several similar examples are stronger evidence
than one lucky one). Pure Python: building takes a fraction of a second, a question milliseconds.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

from dialogs.vocabulary import fold
from locales.knowledge import base
from locales.languages import LANGUAGES

NGRAMS = (2, 3, 4, 5)
WORD_WEIGHT = 1.5
STOPWORD_TOPIC_SHARE = 0.3  # a word in the examples of more than this share of topics is noise
BEST_EXAMPLES = 3
DUTCH_WEIGHT = 0.7  # Dutch examples in another language's index
ANSWER_AT = 0.34  # score needed to answer directly (calibrated on tests/kb_eval)
MARGIN = 0.03  # and this much ahead of the next topic (else: ask which one)
CLARIFY_AT = 0.12  # below this: no match at all


def consonant_skeleton(word: str) -> str:
    """Ethiopic syllables reduced to their consonant (the first of each row of eight in Unicode).

    Tigrinya inflection and spelling mostly change a syllable's vowel, so the skeleton finds the
    same word in other forms, as dropping vowel marks does for Arabic.
    """
    return "".join(chr(cp - (cp - 0x1200) % 8) if 0x1200 <= (cp := ord(ch)) <= 0x137F else ch for ch in word)


def features(text: str, stopwords: frozenset[str] = frozenset()) -> Counter[str]:
    """Character n-grams of each word (padded with spaces), the words themselves, and for
    Ethiopic words their consonant skeleton as well."""
    found: Counter[str] = Counter()
    for word in fold(text).split():
        if word in stopwords:
            continue
        forms = [("", word)]
        if (skeleton := consonant_skeleton(word)) != word:
            forms.append(("s", skeleton))
        for tag, form in forms:
            found[f"w{tag}:{form}"] += WORD_WEIGHT
            padded = f" {form} "
            for n in NGRAMS:
                for i in range(len(padded) - n + 1):
                    found[tag + padded[i : i + n]] += 1
    return found


@dataclass(frozen=True)
class Match:
    """The ranked topics for a question and what to do with them."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def best(self) -> tuple[str, float] | None:
        return self.ranked[0] if self.ranked else None

    @property
    def decision(self) -> str:
        """``answer``, ``clarify`` (offer the best three) or ``none``."""
        if not self.ranked or self.ranked[0][1] < CLARIFY_AT:
            return "none"
        top = self.ranked[0][1]
        second = self.ranked[1][1] if len(self.ranked) > 1 else 0.0
        return "answer" if top >= ANSWER_AT and top - second >= MARGIN else "clarify"


def _stopwords(docs: list[tuple[str, str, float]]) -> frozenset[str]:
    topics_of: dict[str, set[str]] = defaultdict(set)
    for topic, text, _ in docs:
        for word in fold(text).split():
            topics_of[word].add(topic)
    limit = STOPWORD_TOPIC_SHARE * len({topic for topic, _, _ in docs})
    return frozenset(word for word, topics in topics_of.items() if len(topics) > limit)


class _Index:
    def __init__(self, docs: list[tuple[str, str, float]]) -> None:
        self.stopwords = _stopwords(docs)
        counted = [(topic, features(text, self.stopwords), weight) for topic, text, weight in docs]
        df: Counter[str] = Counter()
        for _, feats, _ in counted:
            df.update(feats.keys())
        n = len(counted)
        self.idf = {f: math.log((n + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        self.topics: list[str] = []
        self.weights: list[float] = []
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (topic, feats, weight) in enumerate(counted):
            vector = self._vector(feats)
            self.topics.append(topic)
            self.weights.append(weight)
            for f, v in vector.items():
                self.postings[f].append((i, v))

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        vector = {f: (1.0 + math.log(c)) * self.idf.get(f, 0.0) for f, c in feats.items() if f in self.idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {f: v / norm for f, v in vector.items()}

    def rank(self, text: str) -> list[tuple[str, float]]:
        scores: dict[int, float] = defaultdict(float)
        for f, q in self._vector(features(text, self.stopwords)).items():
            for i, d in self.postings.get(f, ()):
                scores[i] += q * d
        per_topic: dict[str, list[float]] = defaultdict(list)
        for i, s in scores.items():
            per_topic[self.topics[i]].append(s * self.weights[i])
        ranked = {
            topic: sum(sorted(found, reverse=True)[:BEST_EXAMPLES]) / BEST_EXAMPLES
            for topic, found in per_topic.items()
        }
        return sorted(ranked.items(), key=lambda kv: -kv[1])


class Matcher:
    """One index per language over the knowledge base's titles and example questions."""

    def __init__(self, kb: base.KnowledgeBase) -> None:
        self.kb = kb
        self._indexes: dict[str, _Index] = {}

    def _docs(self, language: str) -> list[tuple[str, str, float]]:
        docs = []
        for article in self.kb.articles.values():
            for code, weight in ((language, 1.0), ("nl", DUTCH_WEIGHT)):
                if code == "nl" and language == "nl" and weight != 1.0:
                    continue
                text = article.texts.get(code)
                if text is None:
                    continue
                for example in (text.title, *text.questions):
                    docs.append((article.topic, example, weight))
        return docs

    def index(self, language: str) -> _Index:
        if language not in self._indexes:
            self._indexes[language] = _Index(self._docs(language if language in LANGUAGES else "nl"))
        return self._indexes[language]

    def match(self, text: str, language: str) -> Match:
        """Rank the topics for ``text`` written in ``language``."""
        return Match(tuple(self.index(language).rank(text)[:5]))


@cache
def default() -> Matcher:
    """The matcher over the shipped knowledge base (indexes are built on first use per language)."""
    return Matcher(base.default())
