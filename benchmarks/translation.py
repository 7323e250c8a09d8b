"""Translation latency and cache hit rate for a realistic stream of staff replies.

    python -m benchmarks.translation [--tiny] [--replies 300] [--database sqlite|postgresql|URL]

Klantmanagers reuse many phrasings, so a Zipf-shaped mix of 40 typical Dutch replies goes out to
people writing Arabic, Turkish, Ukrainian and Farsi. We report p50/p95 latency for cache misses
(real model work, in the thread pool) and hits (database lookup), the hit rate, and the miss/hit
ratio measured in the same run. ``--tiny`` builds random-weight test packages (meaningless output,
model work far smaller than real 60–125 MB models); without it the installed models are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import DEFAULT_PG, fresh_database, percentile
from cases.db import create_engine, session_factory
from locales.translation import packages
from locales.translation.engine import TranslationService

REPLIES = [
    "Dank u voor uw bericht. Ik kijk ernaar en laat het u morgen weten.",
    "Uw afspraak is verzet naar volgende week dinsdag om 10.00 uur.",
    "Neem uw identiteitsbewijs en uw bankpas mee naar de afspraak.",
    "U hoeft niets te doen. De gemeente regelt dit voor u.",
    "Kunt u mij laten weten of deze tijd voor u past?",
    "Er is een tolk aanwezig bij het gesprek.",
    "Uw PIP is klaar. We bespreken het samen in het volgende gesprek.",
    "De taalschool neemt binnenkort contact met u op.",
    "U kunt verlenging aanvragen bij DUO. Ik help u daarbij.",
    "Wilt u de brief van DUO meenemen naar de afspraak?",
    "Goed dat u het laat weten. Beterschap!",
    "Het gesprek duurt ongeveer anderhalf uur.",
    "U kunt ook online deelnemen aan het gesprek. U krijgt een link.",
    "Ik heb uw vraag doorgestuurd naar mijn collega van inkomen.",
    "De les begint om 9.00 uur. Wees op tijd, alstublieft.",
    "Uw kinderopvang wordt vergoed tijdens de lessen.",
    "U mag werk en lessen combineren. We zoeken samen een rooster.",
    "Stuur mij een foto van uw diploma, dan kijken we of het erkend wordt.",
    "Het examen voor lezen is op 14 maart. U krijgt een brief.",
    "De participatieverklaring bestaat uit vier bijeenkomsten.",
] + [f"Uw volgende afspraak is op dag {n} om {9 + n % 6}.00 uur op het stadskantoor." for n in range(1, 21)]
TARGETS = ["ar", "tr", "uk", "fa"]


def _zipf_choice(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    weights = [1 / (rank**s) for rank in range(1, len(items) + 1)]
    return rng.choices(items, weights=weights, k=1)[0]


def _tiny_models(directory: Path) -> None:
    from tests.argos_packages import build

    out = Path(tempfile.mkdtemp())
    packages.use_directory(directory)
    pairs = [("nl", "en")] + [("en", t) for t in TARGETS if t in ("ar", "tr", "uk", "fa")]
    for n, (source, target) in enumerate(pairs):
        packages.install_file(build(out, source, target, seed=n))


async def run(url: str, replies: int, concurrency: int) -> dict:  # type: ignore[type-arg]
    engine = create_engine(url)
    service = TranslationService(session_factory(engine), threads=2)
    rng = random.Random(7)
    work = [(_zipf_choice(rng, REPLIES), rng.choice(TARGETS)) for _ in range(replies)]
    misses: list[float] = []
    hits: list[float] = []
    unavailable = 0
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def agent() -> None:
        nonlocal unavailable
        while not queue.empty():
            text, target = queue.get_nowait()
            start = time.perf_counter()
            result = await service.translate(text, "nl", target)
            elapsed = time.perf_counter() - start
            if not result.available:
                unavailable += 1
            (hits if result.cached else misses).append(elapsed)

    wall = time.perf_counter()
    await asyncio.gather(*(agent() for _ in range(concurrency)))
    wall = time.perf_counter() - wall
    service.close()
    await engine.dispose()
    return {
        "replies": replies,
        "concurrency": concurrency,
        "wall_s": wall,
        "hit_rate": len(hits) / max(1, len(hits) + len(misses)),
        "miss_p50_ms": 1000 * percentile(misses, 0.5) if misses else None,
        "miss_p95_ms": 1000 * percentile(misses, 0.95) if misses else None,
        "hit_p50_ms": 1000 * percentile(hits, 0.5) if hits else None,
        "hit_p95_ms": 1000 * percentile(hits, 0.95) if hits else None,
        "all_p50_ms": 1000 * percentile(misses + hits, 0.5),
        "all_p95_ms": 1000 * percentile(misses + hits, 0.95),
        "unavailable": unavailable,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replies", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="build random-weight test packages and use those")
    parser.add_argument(
        "--models", type=Path, default=Path(os.environ.get("WEGWIJS_TRANSLATION_DIR", "translation-models"))
    )
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/translation.json"))
    args = parser.parse_args()

    if args.tiny:
        _tiny_models(Path(tempfile.mkdtemp()) / "models")
        models = "tiny random-weight test packages"
    else:
        packages.use_directory(args.models)
        packages.ensure_sentence_splitters()
        models = f"installed packages in {args.models}"
    url = fresh_database(args.database, args.pg)
    routes = {t: packages.route("nl", t).kind for t in TARGETS}
    result = asyncio.run(run(url, args.replies, args.concurrency))
    result.update(
        scenario="translation",
        database=args.database,
        models=models,
        routes=routes,
        machine={"cpus": os.cpu_count(), "python": platform.python_version()},
    )
    ratio = (
        (result["miss_p50_ms"] / result["hit_p50_ms"])
        if result["miss_p50_ms"] and result["hit_p50_ms"]
        else None
    )
    result["miss_to_hit_ratio_p50"] = ratio

    def ms(value: float | None) -> str:
        return f"{value:8.2f}" if value is not None else "       –"

    print(f"translation benchmark on {args.database} with {models}")
    print(f"routes from Dutch: {routes}")
    print(f"{result['replies']} staff replies, {result['concurrency']} at a time, {result['wall_s']:.2f}s")
    print(f"{'':10} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'miss':10} {ms(result['miss_p50_ms'])} {ms(result['miss_p95_ms'])}")
    print(f"{'cache hit':10} {ms(result['hit_p50_ms'])} {ms(result['hit_p95_ms'])}")
    print(f"{'all':10} {ms(result['all_p50_ms'])} {ms(result['all_p95_ms'])}")
    print(f"cache hit rate {100 * result['hit_rate']:.1f}%; a miss costs {ratio:.0f}× a hit" if ratio else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
