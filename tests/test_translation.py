"""Machine translation through the real argostranslate code on tiny packages the suite builds itself."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from cases.db import transaction
from cases.models import Message, TranslationCacheEntry
from cases.services import identities
from locales.translation import packages
from locales.translation.engine import TranslationService
from tests.argos_packages import build
from tests.helpers import consented_identity

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [
    ("nl", "en", True),
    ("en", "nl", True),
    ("ar", "en", False),
    ("en", "ar", True),
    ("en", "uk", True),
    ("de", "en", True),
]


@pytest.fixture(scope="session")
def argos_files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """One .argosmodel per pair; ar→en ships no sentence splitter, like packages from the Argos index."""
    out = tmp_path_factory.mktemp("argos-packages")
    return {
        (s, t): build(out, s, t, seed=n, with_splitter=splitter) for n, (s, t, splitter) in enumerate(PAIRS)
    }


@pytest.fixture
def models(tmp_path: Path, argos_files: dict[tuple[str, str], Path]) -> Path:
    """A fresh package folder with nl↔en and en↔ar installed (Arabic goes via English)."""
    directory = tmp_path / "models"
    packages.use_directory(directory)
    for pair in [("nl", "en"), ("en", "nl"), ("ar", "en"), ("en", "ar")]:
        packages.install_file(argos_files[pair])
    return directory


class NetworkAttempts(list[str]):
    """Every attempt to reach a host that is not this machine."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkAttempts]:
    """Refuse and record any connection or name lookup that leaves loopback."""
    attempts = NetworkAttempts()
    local = {"127.0.0.1", "::1", "localhost", None, ""}
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in local:
            attempts.append(f"lookup {host}")
            raise OSError("network blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_connect(self, address):  # type: ignore[no-untyped-def]
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(address, tuple) and host not in local:
            attempts.append(f"connect {host}")
            raise OSError("network blocked by test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield attempts


def test_cli_install_and_status(tmp_path: Path, argos_files: dict[tuple[str, str], Path]) -> None:
    env = {
        **os.environ,
        "WEGWIJS_TRANSLATION_DIR": str(tmp_path / "m"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    files = [str(argos_files[p]) for p in [("nl", "en"), ("en", "nl"), ("ar", "en"), ("en", "ar")]]
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "translate", "install", *files],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "installed ar→en 0.1" in run.stdout
    status = subprocess.run(
        [sys.executable, "-m", "bot.cli", "translate", "status"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
    assert " direct " in lines["nl→en"] and " direct " in lines["en→nl"]
    assert "via English" in lines["ar→nl"] and "ar→en 0.1 + en→nl 0.1" in lines["ar→nl"]
    for pair in ("ti→nl", "nl→ti", "so→nl", "nl→so", "fa→nl", "uk→nl"):
        assert "unavailable" in lines[pair]
    splitters = list((tmp_path / "m").glob("*/minisbd/*.onnx"))
    assert len(splitters) == 4, "every package has a local sentence splitter"


def test_bad_package_files_are_refused(tmp_path: Path) -> None:
    packages.use_directory(tmp_path / "models")
    not_zip = tmp_path / "x.argosmodel"
    not_zip.write_text("hello")
    with pytest.raises(packages.PackageError, match="not an Argos package"):
        packages.install_file(not_zip)
    evil = tmp_path / "evil.argosmodel"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("pkg/metadata.json", "{}")
        zf.writestr("pkg/../../escape.txt", "x")
    with pytest.raises(packages.PackageError, match="unsafe"):
        packages.install_file(evil)
    with pytest.raises(packages.PackageError, match="no such file"):
        packages.install_file(tmp_path / "missing.argosmodel")


async def test_direct_and_pivot_routes_and_the_cache(models: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    service = TranslationService(sessions, threads=2)
    try:
        direct = await service.translate("Hallo, ik heb een vraag over mijn afspraak.", "nl", "en")
        assert (
            direct.route == "direct" and direct.model_version == "nl→en 0.1" and isinstance(direct.text, str)
        )
        pivot = await service.translate("مرحبا، لدي سؤال عن موعدي.", "ar", "nl")
        assert pivot.route == "pivot" and pivot.model_version == "ar→en 0.1 + en→nl 0.1"
        assert pivot.engine == "argos-translate" and not pivot.cached
        again = await service.translate("مرحبا، لدي سؤال عن موعدي.", "ar", "nl")
        assert again.cached and again.text == pivot.text
        assert (service.cache_hits, service.cache_misses) == (1, 2)
        async with sessions() as session:
            rows = list(
                await session.scalars(select(TranslationCacheEntry).order_by(TranslationCacheEntry.id))
            )
        assert [(r.source, r.target) for r in rows] == [("nl", "en"), ("ar", "nl")]
        # Another process (a new service) finds the same translation in the shared cache.
        other = TranslationService(sessions, threads=1)
        assert (await other.translate("مرحبا، لدي سؤال عن موعدي.", "ar", "nl")).cached
        other.close()
    finally:
        service.close()


async def test_pairs_without_a_model_say_so(models: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    service = TranslationService(sessions, threads=1)
    for source, target in (("ti", "nl"), ("nl", "so"), ("fa", "nl")):
        result = await service.translate("ሰላም", source, target)
        assert result.text is None and result.engine == "unavailable" and result.route == "unavailable"
    same = await service.translate("Hallo", "nl", "nl")
    assert same.text == "Hallo" and same.route == "identity"
    service.close()


async def test_install_status_and_translate_never_touch_the_network(
    tmp_path: Path,
    argos_files: dict[tuple[str, str], Path],
    sessions,
    no_network: NetworkAttempts,  # type: ignore[no-untyped-def]
) -> None:
    packages.use_directory(tmp_path / "models")
    for pair in [("ar", "en"), ("en", "nl")]:
        packages.install_file(argos_files[pair])  # ar→en has no splitter of its own
    assert [r.kind for r in packages.status() if r.source == "ar"] == ["pivot"]
    service = TranslationService(sessions, threads=1)
    result = await service.translate("مرحبا. لدي سؤال عن موعدي؟ شكرا!", "ar", "nl")
    service.close()
    assert result.available
    assert no_network == [], f"tried the network: {no_network}"


async def test_the_network_guard_would_catch_a_download(
    tmp_path: Path,
    argos_files: dict[tuple[str, str], Path],
    sessions,
    no_network: NetworkAttempts,  # type: ignore[no-untyped-def]
) -> None:
    """Without our splitter, MiniSBD downloads a model: the guard above must notice that."""
    packages.use_directory(tmp_path / "models")
    packages.install_file(argos_files[("ar", "en")])
    for splitter in (tmp_path / "models").glob("*/minisbd/*.onnx"):
        splitter.unlink()
    packages.use_directory(tmp_path / "models")  # reload without splitters
    service = TranslationService(sessions, threads=1)
    with pytest.raises(Exception):  # noqa: B017 - whatever MiniSBD raises when the download fails
        await service.translate("مرحبا. شكرا", "ar", "en")
    service.close()
    assert no_network, "the guard saw no attempt, so it proves nothing"


async def test_translation_runs_off_the_event_loop(models: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    service = TranslationService(sessions, threads=1)
    await service.translate("Hallo.", "nl", "en")  # load the model first
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await service.translate(" ".join(["Hallo, ik heb een vraag over mijn afspraak."] * 400), "nl", "en")
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    service.close()
    assert elapsed > 0.2, "the text was long enough to notice a blocked loop"
    # A translation on the loop would show as one gap as long as the translation itself.
    assert max(gaps) < elapsed / 2, f"the event loop stalled for {max(gaps):.2f}s of {elapsed:.2f}s"


@pytest.fixture
async def package_index(argos_files: dict[tuple[str, str], Path]) -> AsyncIterator[str]:
    """An Argos package index (index.json plus one package) served over HTTP on loopback."""
    file = argos_files[("en", "uk")]

    async def index(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.json_response(
            [
                {
                    "package_version": "0.1",
                    "argos_version": "1.9",
                    "from_code": "en",
                    "from_name": "English",
                    "to_code": "uk",
                    "to_name": "Ukrainian",
                    "type": "translate",
                    "code": "translate-en_uk",
                    "links": [f"{base}/{file.name}"],
                }
            ]
        )

    async def package_file(_: web.Request) -> web.FileResponse:
        return web.FileResponse(file)

    app = web.Application()
    app.router.add_get("/index.json", index)
    app.router.add_get(f"/{file.name}", package_file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    await runner.cleanup()


async def test_install_from_a_configured_index(tmp_path: Path, package_index: str) -> None:
    packages.use_directory(tmp_path / "models")
    installed = await asyncio.to_thread(packages.install_from_index, package_index, "en", "uk")
    assert installed.label == "en→uk 0.1"
    assert any((installed.path / "minisbd").glob("*.onnx"))
    with pytest.raises(packages.PackageError, match="has no package"):
        await asyncio.to_thread(packages.install_from_index, package_index, "en", "ti")


def test_without_an_index_nothing_tries_the_network(tmp_path: Path, no_network: NetworkAttempts) -> None:
    packages.use_directory(tmp_path / "models")
    with pytest.raises(packages.PackageError, match="no package index configured"):
        packages.install_from_index("", "en", "nl")
    assert no_network == []


async def test_inbound_texts_get_a_dutch_version_for_staff(models: Path, sessions, settings) -> None:  # type: ignore[no-untyped-def]
    from bot.pipeline import Pipeline
    from bot.translations import TranslationWorker

    pipeline = Pipeline(sessions, settings)
    people = {}
    async with transaction(sessions) as session:
        for lang in ("ar", "ti", "nl"):
            identity = await identities.get_or_create(session, "webchat", f"user-{lang}")
            identities.set_language(identity, lang)
            await identities.give_consent(session, identity)
            people[lang] = identity
    await pipeline.accept(people["ar"], external_id="a", text="مرحبا، لدي سؤال عن موعدي.", schedule=False)
    await pipeline.accept(
        people["ar"],
        external_id="b",
        kind="button",
        text="مواعيدي",
        payload="menu:appointments",
        schedule=False,
    )
    await pipeline.accept(people["ti"], external_id="c", text="ሰላም፣ ሕቶ ኣለኒ", schedule=False)
    await pipeline.accept(
        people["nl"], external_id="d", text="Ik heb een vraag over mijn afspraak", schedule=False
    )
    for identity in people.values():
        await pipeline.process(identity.id)
    service = TranslationService(sessions, threads=1)
    worker = TranslationWorker(sessions, service)
    assert await worker.run_once() == 3, "the button tap already has its Dutch label"
    assert await worker.run_once() == 0
    service.close()
    async with sessions() as session:
        rows = {
            m.external_id: m for m in await session.scalars(select(Message).where(Message.direction == "in"))
        }
        cached = await session.scalar(select(func.count()).select_from(TranslationCacheEntry))
    arabic = rows["a"]
    assert arabic.translated_text is not None and arabic.translation_engine == "argos-translate"
    assert arabic.translation_model == "ar→en 0.1 + en→nl 0.1"
    assert (arabic.language, arabic.translation_language) == ("ar", "nl")
    assert arabic.text == "مرحبا، لدي سؤال عن موعدي.", "the original is kept"
    assert (rows["b"].translated_text, rows["b"].translation_engine) == ("Mijn afspraken", "catalog")
    assert rows["c"].translated_text is None and rows["c"].translation_engine == "unavailable"
    assert rows["d"].translation_engine == "identity"
    assert cached == 1


async def test_questions_in_other_languages_are_matched_through_dutch(
    models: Path,
    argos_files: dict[tuple[str, str], Path],
    sessions,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from bot.pipeline import Pipeline

    packages.install_file(argos_files[("de", "en")])  # German → English → Dutch
    service = TranslationService(sessions, threads=1)
    pipeline = Pipeline(sessions, settings, service)
    identity = await consented_identity(sessions, "german-speaker", "en")
    await pipeline.accept(
        identity, external_id="de1", text="Wann ist mein nächster Termin bei der Gemeinde?", schedule=False
    )
    turns = await pipeline.process(identity.id)
    service.close()
    assert turns and turns[0].intent.startswith("kb."), "it was treated as a knowledge question"
    async with sessions() as session:
        pairs = [(r.source, r.target) for r in await session.scalars(select(TranslationCacheEntry))]
    assert ("de", "nl") in pairs, "the German text went through machine translation to Dutch"
