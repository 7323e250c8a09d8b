"""Cross-validated accuracy of the question matcher on the knowledge base's own example questions.

    python -m benchmarks.knowledge_cv [--folds 5] [--seed 2024] [--repeats 1] [--languages ti,ar]

For tuning the matcher without the held-out evaluation set in ``tests/kb_eval/`` (which this never
reads). Per language, that language's example questions are split into K folds (stratified by
article, fixed seed); each fold in turn is left out of the index and matched against an index of
the rest. Titles always stay in the index, and so do the Dutch examples mixed into another
language's index (for Dutch itself they are the ones folded). Reported: top-1 accuracy (the
best-ranked topic is the article's), top-3 (the topic is among the three a clarifying question
would offer), and how often the bot would answer directly (``Match.decision``), rightly or wrongly:
the thresholds were calibrated on the evaluation set, so a change that moves these has shifted the
scores' scale. ``--repeats`` averages over differently seeded splits.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields

from dialogs.matcher import Match, Matcher, _Index
from locales.knowledge import base
from locales.languages import LANGUAGES

Key = tuple[str, int]  # (article id, position in that language's questions)


@dataclass(frozen=True)
class Score:
    examples: int = 0
    top1: int = 0
    top3: int = 0
    answered: int = 0  # the decision is to answer directly
    wrong: int = 0  # … with another topic than the article's

    def __add__(self, other: Score) -> Score:
        return Score(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Score)))

    def share(self, name: str) -> float:
        """``name``'s count as a percentage of the examples."""
        return 100 * getattr(self, name) / self.examples


def split(kb: base.KnowledgeBase, language: str, folds: int, seed: int) -> list[list[Key]]:
    """The examples of ``language`` in ``folds`` folds: each article's shuffled examples are dealt out
    in turn, continuing where the previous article stopped, so every fold has about as many of each."""
    rng = random.Random(f"{seed}:{language}")
    dealt: list[list[Key]] = [[] for _ in range(folds)]
    turn = 0
    for article in kb.articles.values():
        text = article.texts.get(language)
        if text is None:
            continue
        keys = [(article.id, i) for i in range(len(text.questions))]
        rng.shuffle(keys)
        for key in keys:
            dealt[turn % folds].append(key)
            turn += 1
    return dealt


def cross_validate(matcher: Matcher, language: str, folds: int, seed: int) -> Score:
    """The hits over all folds of ``language``'s examples."""
    kb = matcher.kb
    total = Score()
    for fold in split(kb, language, folds, seed):
        index = _Index(matcher._docs(language, set(fold)))
        for article_id, i in fold:
            article = kb.articles[article_id]
            match = Match(tuple(index.rank(article.texts[language].questions[i])[:5]))
            ranked = [topic for topic, _ in match.ranked[:3]]
            answered = match.decision == "answer"
            total += Score(
                examples=1,
                top1=ranked[:1] == [article.topic],
                top3=article.topic in ranked,
                answered=answered,
                wrong=answered and ranked[0] != article.topic,
            )
    return total


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=1, help="splits with seeds seed, seed+1, …")
    parser.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated codes")
    args = parser.parse_args(argv)
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown:
        parser.error(f"unknown language(s): {', '.join(unknown)}")

    started = time.perf_counter()
    matcher = Matcher(base.default())
    print(f"{args.folds}-fold cross-validation, seed {args.seed}, {args.repeats} repeat(s)")
    columns = ("top1", "top3", "answered", "wrong")
    print(f"{'lang':<6}{'examples':>9}{'top-1':>9}{'top-3':>9}{'answer':>9}{'wrong':>9}")
    scores: list[Score] = []
    for language in languages:
        score = Score()
        for repeat in range(args.repeats):
            score += cross_validate(matcher, language, args.folds, args.seed + repeat)
        scores.append(score)
        shares = "".join(f"{score.share(c):>8.1f}%" for c in columns)
        print(f"{language:<6}{score.examples // args.repeats:>9}{shares}")
    means = [sum(score.share(c) for score in scores) / len(scores) for c in columns]
    print(f"{'mean':<6}{'':>9}" + "".join(f"{m:>8.1f}%" for m in means))
    print(f"took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
