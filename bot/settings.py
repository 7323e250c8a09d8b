"""Configuration from the environment (pydantic-settings).

Every setting has a one-line error message on a bad value, so start-up stops with a clear hint.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases.db import normalise_database_url
from scheduler.rules import QuietHours

if TYPE_CHECKING:
    from cases.services.appointments import PlanningRules

DEFAULT_DB_PATH = Path("wegwijs.db")


class ConfigError(Exception):
    """A setting has a bad value; the message names the setting."""


class Settings(BaseSettings):
    """Wegwijs settings. Environment names are given per field (``DATABASE_URL`` or ``WEGWIJS_*``)."""

    model_config = SettingsConfigDict(env_prefix="WEGWIJS_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        validation_alias="DATABASE_URL",
        description="sqlite:///PATH or postgresql://user@host/db; the async driver is chosen by the app",
    )
    secret_key: str = Field(default="", description="at least 32 characters; required outside demo mode")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    cookie_secure: bool = True
    demo: bool = False
    koppelcode_valid_days: int = Field(default=30, ge=1, le=365)
    koppelcode_max_failures: int = Field(default=5, ge=1, le=100)
    koppelcode_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_message_chars: int = Field(default=2000, ge=100, le=100_000)
    workers: int = Field(default=4, ge=1, le=64, description="conversation worker tasks per process")
    processes: int = Field(
        default=1, ge=1, le=64, description="serving processes sharing the port (PostgreSQL only)"
    )
    worker_batch: int = Field(
        default=32, ge=1, le=500, description="identities a worker handles in one transaction under load"
    )
    timezone: str = "Europe/Amsterdam"
    safety_role: str = Field(
        default="teamleider", description="the role that receives confidential safety alerts"
    )
    flood_max_per_minute: int = Field(default=20, ge=1, le=1000, description="messages per chat identity")
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    outbox_retry_base_seconds: float = Field(default=2.0, gt=0, le=600)
    outbox_retry_max_seconds: float = Field(default=900.0, gt=0, le=86400)

    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    # Approved template per message kind, used outside the 24-hour customer-service window.
    whatsapp_templates: dict[str, str] = {
        "notification": "wegwijs_nieuw_bericht",
        "appointment": "wegwijs_afspraak",  # body: {{1}} date, {{2}} time; 3 quick replies
    }
    # WhatsApp template language per chat language (Somali and Tigrinya templates are not offered).
    whatsapp_template_languages: dict[str, str] = {
        "nl": "nl",
        "en": "en",
        "ar": "ar",
        "fa": "fa",
        "tr": "tr",
        "uk": "uk",
        "so": "en",
        "ti": "en",
    }

    translation_dir: Path = Field(default=Path("translation-models"), description="Argos packages live here")
    translation_index: str = Field(
        default="", description="an Argos package index URL; empty: never download"
    )
    translation_threads: int = Field(default=2, ge=1, le=32)

    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org"

    public_url: str = Field(
        default="", description="the address people reach Wegwijs on (calendar links); empty: host and port"
    )
    quiet_hours_start: str = Field(default="21:00", description="no reminders from this local time …")
    quiet_hours_end: str = Field(default="08:00", description="… until this local time")
    appointment_types_file: Path = Field(
        default=Path(__file__).parent.parent / "cases" / "appointment_types.toml",
        description="appointment types: duration, place, tolk, documents, reminder offsets",
    )
    schedule_rules_file: Path = Field(
        default=Path(__file__).parent.parent / "scheduler" / "rules.toml",
        description="deadline reminders and the no-show ladder",
    )
    retention_months: int = Field(
        default=12, ge=1, le=120, description="message texts kept this long after a case is closed"
    )
    reminder_batch: int = Field(default=1000, ge=1, le=20000, description="reminders claimed per transaction")

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        normalise_database_url(value)  # raises ValueError with a readable message
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("safety_role")
    @classmethod
    def _check_role(cls, value: str) -> str:
        from cases.models import STAFF_ROLES

        if value not in STAFF_ROLES:
            raise ValueError(f"must be one of {', '.join(STAFF_ROLES)}")
        return value

    @field_validator("whatsapp_api_base", "telegram_api_base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _check_clock(cls, value: str) -> str:
        import datetime as dt

        try:
            dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a time like 21:00") from None
        return value

    @field_validator("appointment_types_file", "schedule_rules_file")
    @classmethod
    def _check_rules_file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError("file not found")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("telegram_secret")
    @classmethod
    def _check_telegram_secret(cls, value: str) -> str:
        # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and - in the secret token header.
        if value and not all(c.isascii() and (c.isalnum() or c in "_-") for c in value):
            raise ValueError("may hold only letters, digits, _ and -")
        return value

    def whatsapp_missing(self) -> list[str]:
        """Names of the WhatsApp settings that are not set (empty: the channel is on)."""
        names = ("app_secret", "verify_token", "access_token", "phone_number_id")
        return [f"WEGWIJS_WHATSAPP_{n.upper()}" for n in names if not getattr(self, f"whatsapp_{n}")]

    def telegram_missing(self, *, polling: bool = False) -> list[str]:
        """Names of the Telegram settings that are not set (empty: the channel is on).

        Polling needs only the token; the webhook also needs the secret token.
        """
        names = ("token",) if polling else ("token", "secret")
        return [f"WEGWIJS_TELEGRAM_{n.upper()}" for n in names if not getattr(self, f"telegram_{n}")]

    def base_url(self) -> str:
        """Where people reach this Wegwijs (for links in messages)."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.quiet_hours_start, self.quiet_hours_end, self.timezone)

    def planning(self) -> PlanningRules:
        """Appointment types, quiet hours and the no-show ladder, from the configured files."""
        from cases import appointment_types
        from cases.services.appointments import PlanningRules
        from scheduler import rules

        return PlanningRules(
            types=appointment_types.load(self.appointment_types_file),
            quiet=self.quiet_hours(),
            ladder=rules.load(self.schedule_rules_file).ladder,
        )

    def effective_secret_key(self) -> str:
        """The secret key; demo mode without one gets a fresh random key (sessions end on restart)."""
        if self.secret_key:
            return self.secret_key
        if self.demo:
            return secrets.token_urlsafe(48)
        raise ConfigError("WEGWIJS_SECRET_KEY: must be set (at least 32 characters) outside demo mode")


_ENV_NAMES = {"database_url": "DATABASE_URL"}


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError naming the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = _ENV_NAMES.get(field, field.upper() if field.isupper() else f"WEGWIJS_{field.upper()}")
        msg = err["msg"].removeprefix("Value error, ")
        hidden = any(word in field.lower() for word in ("secret", "token"))
        shown = "" if hidden else f" (got {err.get('input')!r})"
        raise ConfigError(f"{name}: {msg}{shown}") from None
