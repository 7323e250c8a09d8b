"""Argos Translate packages: install from a file (or a configured index), list, and route a pair.

argostranslate reads its package folder at import time, so ``use_directory`` must run before any
other function here; it also points the already-imported module at the folder. Nothing here
touches the network, except ``install_from_index`` when an index URL is configured.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from locales.languages import LANGUAGES

PIVOT = "en"
SENTENCE_SPLITTER = Path(__file__).with_name("sentence_splitter.onnx")
_directory: Path | None = None
_installed: list[InstalledPackage] | None = None  # read from disk once; cleared when packages change


class PackageError(Exception):
    """A package could not be installed (the message is safe to show)."""


@dataclass(frozen=True)
class InstalledPackage:
    from_code: str
    to_code: str
    version: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.from_code}→{self.to_code} {self.version}".strip()


@dataclass(frozen=True)
class Route:
    source: str
    target: str
    kind: Literal["identity", "direct", "pivot", "unavailable"]
    packages: tuple[InstalledPackage, ...] = ()

    @property
    def model_version(self) -> str:
        """Which packages translate this pair, e.g. ``nl→en 1.9 + en→ar 1.9``."""
        return " + ".join(p.label for p in self.packages)


def use_directory(directory: Path) -> None:
    """Keep Argos packages in ``directory`` (created when missing)."""
    global _directory
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["ARGOS_PACKAGES_DIR"] = str(directory)
    os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")
    from argostranslate import settings

    settings.package_data_dir = directory
    settings.package_dirs = [directory]
    _directory = directory
    _clear_caches()


def _require_directory() -> Path:
    if _directory is None:
        raise RuntimeError("call locales.translation.packages.use_directory() first")
    return _directory


def _clear_caches() -> None:
    global _installed
    _installed = None
    from argostranslate import translate

    translate.get_installed_languages.cache_clear()
    translate.installed_translates.clear()


def installed() -> list[InstalledPackage]:
    """The translation packages in the package folder."""
    global _installed
    if _installed is None:
        _installed = _read_installed(_require_directory())
    return _installed


def _read_installed(directory: Path) -> list[InstalledPackage]:
    found = []
    for path in sorted(directory.iterdir()):
        meta = path / "metadata.json"
        if path.is_dir() and meta.exists():
            data = json.loads(meta.read_text())
            if data.get("type", "translate") == "translate":
                found.append(
                    InstalledPackage(
                        data["from_code"], data["to_code"], str(data.get("package_version", "")), path
                    )
                )
    return found


def ensure_sentence_splitters() -> int:
    """Give every installed package our local sentence splitter, so MiniSBD never downloads one."""
    added = 0
    for pkg in installed():
        folder = pkg.path / "minisbd"
        if not any(folder.glob("*.onnx")):
            folder.mkdir(exist_ok=True)
            shutil.copyfile(SENTENCE_SPLITTER, folder / "wegwijs_sentence_splitter.onnx")
            added += 1
    if added:
        _clear_caches()
    return added


def install_file(path: Path) -> InstalledPackage:
    """Install an ``.argosmodel`` file (offline) and give it a local sentence splitter."""
    from argostranslate import package

    _require_directory()
    if not path.is_file():
        raise PackageError(f"no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise PackageError(f"not an Argos package (a zip archive): {path.name}")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        roots = {name.split("/")[0] for name in names if name.strip("/")}
        if any(name.startswith("/") or ".." in name.split("/") for name in names):
            raise PackageError(f"{path.name} contains unsafe paths")
        if len(roots) != 1 or f"{next(iter(roots))}/metadata.json" not in names:
            raise PackageError(f"{path.name} has no single package folder with metadata.json")
    root = next(iter(roots))
    package.install_from_path(path)
    ensure_sentence_splitters()
    _clear_caches()
    for pkg in installed():
        if pkg.path.name == root:
            return pkg
    raise PackageError(f"{path.name} is not a translation package")


def install_from_index(index_url: str, from_code: str, to_code: str) -> InstalledPackage:
    """Download and install one package from an Argos package index (needs a network and an index)."""
    if not index_url:
        raise PackageError(
            "no package index configured (WEGWIJS_TRANSLATION_INDEX); install from a file instead"
        )
    from argostranslate import package, settings

    settings.remote_package_index = (
        index_url.rstrip("/") + "/index.json" if not index_url.endswith(".json") else index_url
    )
    package.update_package_index()
    if not settings.local_package_index.exists():
        raise PackageError(f"could not read the package index at {settings.remote_package_index}")
    candidates = [
        p for p in package.get_available_packages() if (p.from_code, p.to_code) == (from_code, to_code)
    ]
    if not candidates:
        raise PackageError(f"the index has no package {from_code}→{to_code}")
    try:
        downloaded = candidates[0].download()
    except Exception as exc:  # argostranslate raises bare Exception on download failure
        raise PackageError(f"download failed: {exc}") from None
    try:
        return install_file(downloaded)
    finally:
        downloaded.unlink(missing_ok=True)


def route(source: str, target: str) -> Route:
    """How ``source`` text reaches ``target``: directly, via English, or not at all."""
    if source == target:
        return Route(source, target, "identity")
    by_pair = {(p.from_code, p.to_code): p for p in installed()}
    if (source, target) in by_pair:
        return Route(source, target, "direct", (by_pair[(source, target)],))
    if (source, PIVOT) in by_pair and (PIVOT, target) in by_pair:
        return Route(source, target, "pivot", (by_pair[(source, PIVOT)], by_pair[(PIVOT, target)]))
    return Route(source, target, "unavailable")


def status() -> list[Route]:
    """Every pair between Dutch and the other seven languages, both ways."""
    pairs = []
    for code in LANGUAGES:
        if code != "nl":
            pairs += [route(code, "nl"), route("nl", code)]
    return pairs
