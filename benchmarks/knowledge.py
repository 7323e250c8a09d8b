"""Question matching against the labelled evaluation set in ``tests/kb_eval/``.

    python -m benchmarks.knowledge [--out FILE]

Per language: top-1 accuracy (the best-ranked topic is the labelled one), how often the bot answers
directly and correctly, the share of out-of-scope questions that get a safe fallback (a choice of
topics or an offer to talk to a person, never a direct answer), and the answer time of the whole
dialog engine (safety check, matching, composing the reply; no machine translation). The baseline
in the same run is the engine answering a greeting (no matching).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import percentile
from dialogs import engine
from dialogs import matcher as matching
from dialogs.model import Context, Inbound
from locales.languages import LANGUAGES

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "kb_eval"
OUT_OF_SCOPE = "-"


@dataclass(frozen=True)
class Question:
    language: str
    label: str
    text: str


def load_eval(directory: Path = EVAL_DIR) -> list[Question]:
    """Every labelled question (``LANG<TAB>LABEL<TAB>QUESTION`` per line)."""
    found = []
    for path in sorted(directory.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                language, label, text = line.split("\t", 2)
                found.append(Question(language.strip(), label.strip(), text.strip()))
    return found


def evaluate(questions: list[Question]) -> dict[str, dict[str, float]]:
    """Accuracy and fallback figures per language (and ``all``)."""
    m = matching.default()
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for q in questions:
        result = m.match(q.text, q.language)
        for key in (q.language, "all"):
            row = tally[key]
            if q.label == OUT_OF_SCOPE:
                row["oos"] += 1
                row["oos_safe"] += result.decision != "answer"
            else:
                row["in"] += 1
                correct = result.best is not None and result.best[0] == q.label
                row["top1"] += correct
                row["answered_right"] += correct and result.decision == "answer"
                row["answered_wrong"] += (not correct) and result.decision == "answer"
    report = {}
    for key, row in tally.items():
        report[key] = {
            "questions": row["in"],
            "top1": row["top1"] / max(1, row["in"]),
            "answered_right": row["answered_right"] / max(1, row["in"]),
            "answered_wrong": row["answered_wrong"] / max(1, row["in"]),
            "out_of_scope": row["oos"],
            "safe_fallback": row["oos_safe"] / max(1, row["oos"]),
        }
    return report


def answer_times(questions: list[Question]) -> tuple[list[float], list[float]]:
    """Engine time per question, and per greeting as the baseline (milliseconds)."""
    for language in LANGUAGES:  # indexes are built once per process: not part of an answer
        matching.default().index(language)
    times, baseline = [], []
    for q in questions:
        ctx = Context(language=q.language, consented=True, state={"step": "menu"})
        start = time.perf_counter()
        engine.handle(ctx, Inbound("text", q.text))
        times.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        engine.handle(ctx, Inbound("text", "hallo"))
        baseline.append(1000 * (time.perf_counter() - start))
    return times, baseline


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/knowledge.json"))
    args = parser.parse_args()
    questions = load_eval()
    report = evaluate(questions)
    times, baseline = answer_times(questions)
    print(f"{len(questions)} labelled questions from {EVAL_DIR}")
    heads = ("n", "top-1", "answered right", "answered wrong", "oos", "safe fallback")
    print(f"{'lang':5} " + " ".join(f"{h:>{max(4, len(h))}}" for h in heads))
    for key in [*LANGUAGES, "all"]:
        if key in report:
            r = report[key]
            print(
                f"{key:5} {r['questions']:>4} {r['top1']:>7.1%} {r['answered_right']:>15.1%} "
                f"{r['answered_wrong']:>15.1%} {r['out_of_scope']:>4} {r['safe_fallback']:>14.1%}"
            )
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    b50 = percentile(baseline, 0.5)
    print(
        f"answer time (engine, no machine translation): p50 {p50:.2f} ms, p95 {p95:.2f} ms; "
        f"greeting baseline p50 {b50:.3f} ms ({p50 / b50:.0f}×)"
    )
    result = {
        "scenario": "knowledge",
        "report": report,
        "answer_ms": {"p50": p50, "p95": p95},
        "baseline_greeting_ms_p50": b50,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
