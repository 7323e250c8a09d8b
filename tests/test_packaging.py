"""The deployment files match the code: docker-compose settings, the console script, the layout."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"WEGWIJS_{name.upper()}")
    return names


def test_docker_compose_is_valid_and_uses_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"app", "db"}
    app = compose["services"]["app"]
    unknown = set(app["environment"]) - _setting_names()
    assert not unknown, f"docker-compose sets unknown settings: {unknown}"
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://")
    db = compose["services"]["db"]["environment"]
    assert (
        f"{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/{db['POSTGRES_DB']}"
        in app["environment"]["DATABASE_URL"]
    )
    assert app["depends_on"]["db"]["condition"] == "service_healthy"


def test_layout_and_console_script() -> None:
    for package in ("bot", "cases", "dialogs", "locales", "scheduler", "console", "benchmarks", "tests"):
        assert (ROOT / package / "__init__.py").exists(), package
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["wegwijs"] == "bot.cli:main"
    assert project["requires-python"] == ">=3.11"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./dev test" in readme and "./dev demo" in readme
    assert "exec ./dev test" in (ROOT / ".ci" / "run").read_text()
