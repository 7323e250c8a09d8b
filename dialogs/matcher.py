"""Finds the knowledge-base topic a free-text question is about, in any of the eight languages.

Each language has its own index of the articles' titles and example questions, plus the Dutch
ones at a lower weight (people mix in Dutch terms such as PIP, DUO or inburgering). Texts become
TF-IDF vectors of character n-grams (robust to typos and missing punctuation) and whole words.
Ethiopic (Tigrinya) is a syllabary, one letter per consonant and vowel, so its words get shorter
n-grams: three letters span about as much of a word as five in an alphabet. Its words also match by
their consonant skeleton, at half weight: the skeleton merges forms that differ in more than inflection.
Words that occur in the examples of many topics ("what", "my", "how") are left out: they say
nothing about the topic. A question scores against every example by cosine similarity, and a
topic scores the mean of its three best examples (several similar examples are stronger evidence
than one lucky one). The postings are NumPy arrays: building takes a fraction of a second, and a
question well under a millisecond.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Container
from dataclasses import dataclass
from functools import cache

import numpy as np

from dialogs.vocabulary import fold
from locales.knowledge import base
from locales.languages import LANGUAGES

NGRAMS = (2, 3, 4, 5)
ETHIOPIC_NGRAMS = (2, 3)
SKELETON_WEIGHT = 0.5
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


def is_ethiopic(word: str) -> bool:
    """True when ``word`` has a letter of the Ethiopic script (Tigrinya)."""
    return any(0x1200 <= ord(ch) <= 0x137F for ch in word)


def features(text: str, stopwords: frozenset[str] = frozenset()) -> Counter[str]:
    """Character n-grams of each word (padded with spaces), the words themselves, and for
    Ethiopic words their consonant skeleton as well (at ``SKELETON_WEIGHT``)."""
    found: Counter[str] = Counter()
    for word in fold(text).split():
        if word in stopwords:
            continue
        forms = [("", word, 1.0)]
        if (skeleton := consonant_skeleton(word)) != word:
            forms.append(("s", skeleton, SKELETON_WEIGHT))
        ngrams = ETHIOPIC_NGRAMS if is_ethiopic(word) else NGRAMS
        for tag, form, weight in forms:
            found[f"w{tag}:{form}"] += WORD_WEIGHT * weight
            padded = f" {form} "
            for n in ngrams:
                for i in range(len(padded) - n + 1):
                    found[tag + padded[i : i + n]] += weight
    return found


def _tf(count: float) -> float:
    """Sublinear term frequency; linear below 1 (a feature counted at less than full weight), where
    the logarithm would make it small or negative."""
    return count if count < 1 else 1.0 + math.log(count)


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
    """TF-IDF postings of one language's examples; a question is scored with array arithmetic."""

    def __init__(self, docs: list[tuple[str, str, float]]) -> None:
        self.stopwords = _stopwords(docs)
        counted = [(topic, features(text, self.stopwords), weight) for topic, text, weight in docs]
        df: Counter[str] = Counter()
        for _, feats, _ in counted:
            df.update(feats.keys())
        n = len(counted)
        self.idf = {f: math.log((n + 1) / (d + 1)) + 1.0 for f, d in df.items()}
        self.topics: list[str] = list(dict.fromkeys(topic for topic, _, _ in counted))
        number = {topic: k for k, topic in enumerate(self.topics)}
        self.topic_of = np.array([number[topic] for topic, _, _ in counted], dtype=np.intp)
        self.weights = np.array([weight for _, _, weight in counted], dtype=np.float64)
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for i, (_, feats, _) in enumerate(counted):
            for f, v in self._vector(feats).items():
                postings[f][0].append(i)
                postings[f][1].append(v)
        self.postings = {
            f: (np.array(ids, dtype=np.intp), np.array(values, dtype=np.float64))
            for f, (ids, values) in postings.items()
        }

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        vector = {f: _tf(c) * self.idf.get(f, 0.0) for f, c in feats.items() if f in self.idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {f: v / norm for f, v in vector.items()}

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Topics that share a feature with ``text``, best first, each scored by the mean of its
        ``BEST_EXAMPLES`` most similar examples."""
        ids, values = [], []
        for f, q in self._vector(features(text, self.stopwords)).items():
            if (found := self.postings.get(f)) is not None:
                ids.append(found[0])
                values.append(q * found[1])
        if not ids:
            return []
        # All postings at once: summing per feature in a loop cost half the answer time.
        scores = np.bincount(np.concatenate(ids), np.concatenate(values), len(self.topic_of))
        hit = np.flatnonzero(scores)
        if not len(hit):
            return []
        weighted, topic = scores[hit] * self.weights[hit], self.topic_of[hit]
        order = np.lexsort((-weighted, topic))  # by topic, each topic's best examples first
        weighted, topic = weighted[order], topic[order]
        starts = np.flatnonzero(np.r_[True, topic[1:] != topic[:-1]])
        place = np.arange(len(topic)) - np.repeat(starts, np.diff(np.r_[starts, len(topic)]))
        best = place < BEST_EXAMPLES
        totals = np.bincount(topic[best], weights=weighted[best], minlength=len(self.topics))
        ranked = [(self.topics[k], float(totals[k]) / BEST_EXAMPLES) for k in topic[starts]]
        return sorted(ranked, key=lambda kv: -kv[1])


class Matcher:
    """One index per language over the knowledge base's titles and example questions."""

    def __init__(self, kb: base.KnowledgeBase) -> None:
        self.kb = kb
        self._indexes: dict[str, _Index] = {}

    def _docs(
        self, language: str, held_out: Container[tuple[str, int]] = frozenset()
    ) -> list[tuple[str, str, float]]:
        """(topic, text, weight) for the titles and example questions in ``language``'s index.

        ``held_out`` names example questions of ``language`` to leave out, as (article id, position
        in its ``questions``): cross-validation (``benchmarks/knowledge_cv.py``) tests on them.
        """
        docs = []
        for article in self.kb.articles.values():
            for code, weight in ((language, 1.0), ("nl", DUTCH_WEIGHT)):
                if code == "nl" and language == "nl" and weight != 1.0:
                    continue
                text = article.texts.get(code)
                if text is None:
                    continue
                docs.append((article.topic, text.title, weight))
                for i, example in enumerate(text.questions):
                    if code != language or (article.id, i) not in held_out:
                        docs.append((article.topic, example, weight))
        return docs

    def index(self, language: str) -> _Index:
        if language not in self._indexes:
            self._indexes[language] = _Index(self._docs(language if language in LANGUAGES else "nl"))
        return self._indexes[language]

    def warm(self) -> None:
        """Build every language's index now, so no first question waits for one (about 2 s in all)."""
        for language in LANGUAGES:
            self.index(language)

    def match(self, text: str, language: str) -> Match:
        """Rank the topics for ``text`` written in ``language``."""
        return Match(tuple(self.index(language).rank(text)[:5]))


@cache
def default() -> Matcher:
    """The matcher over the shipped knowledge base (indexes are built on first use per language)."""
    return Matcher(base.default())
