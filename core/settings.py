"""Settings from the environment (and an optional .env file), validated once at start."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TOKEN = "123456789:sandbox-token-not-secret"


class Settings(BaseSettings):
    """Every knob of a ParcelDesk deployment; env vars are PARCELDESK_<NAME> unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="PARCELDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "PARCELDESK_TELEGRAM_BOT_TOKEN"),
        description="Bot token from @BotFather; without one the local Telegram sandbox is used.",
    )
    telegram_api_url: str | None = Field(
        default=None, description="Bot API base URL (…/bot); defaults to Telegram, or the sandbox without a token."
    )
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL for webhook mode; polling if unset.")
    webhook_secret: SecretStr | None = Field(default=None, description="Secret token Telegram echoes on webhooks.")
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443

    database_url: str = Field(default="", description="SQLAlchemy URL; an SQLite file under data_dir by default.")
    database_schema: str | None = Field(default=None, description="PostgreSQL schema (search_path) to use.")
    data_dir: Path = PROJECT_ROOT / ".data"
    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "parceldesk",
        description="Engine environments and trained models, keyed by content hash (shared across clones).",
    )

    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    sandbox_port: int = 8081
    rasa_url: str | None = Field(default=None, description="Rasa server URL; http://host:rasa_port by default.")
    rasa_timeout_seconds: float = Field(default=6.0, gt=0, description="After this the customer gets a holding reply.")
    engine_python: Path | None = Field(default=None, description="A Python 3.10 for the Rasa engine environment.")

    staff_chat_id: int | None = Field(default=None, description="Telegram chat id of the staff group.")
    staff_language: str = Field(default="zh", description="Language of the bot's texts to staff (zh or en).")
    staffed_hours: str = Field(
        default="08:00-22:00", description="When agents are on duty (HH:MM-HH:MM, local time; 00:00-24:00 = always)."
    )
    staffed_timezone: str = Field(default="Asia/Shanghai", description="Time zone of staffed_hours.")
    handoff_job_interval_seconds: float = Field(
        default=20.0, gt=0, description="How often the bot announces new escalations and checks SLA deadlines."
    )
    sla_claim_minutes: int = Field(default=10, gt=0, description="An escalation must be claimed within this.")
    sla_reply_minutes: int = Field(default=5, gt=0, description="A claiming agent must first reply within this.")
    sla_supervisor_minutes: int = Field(
        default=10, gt=0, description="After a missed deadline's reminder, supervisors are alerted this much later."
    )
    handle_minutes: float = Field(
        default=6.0, gt=0, description="Average minutes an agent spends per conversation (for the expected wait)."
    )
    queue_notice_seconds: int = Field(
        default=60, ge=0, description="A queued customer who keeps writing is told their place at most this often."
    )
    clock_file: Path | None = Field(
        default=None, description="Tests only: a file with a clock offset in seconds shared by every process."
    )
    max_message_chars: int = Field(default=2000, gt=0, description="Longer customer messages are politely refused.")
    log_level: str = "INFO"
    learn_low_confidence: float = Field(
        default=0.7, ge=0, le=1, description="Review queue: answers below this confidence are worth labelling."
    )
    learn_similarity: float = Field(
        default=0.88, gt=0, le=1, description="Review queue: texts at least this alike (difflib ratio) share a label."
    )

    @field_validator("staffed_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        """Accept HH:MM-HH:MM with the start before the end."""
        from core.hours import parse_hours

        parse_hours(value)
        return value

    @field_validator("staff_language")
    @classmethod
    def _staff_language(cls, value: str) -> str:
        """Staff texts exist in zh and en."""
        if value not in ("zh", "en"):
            raise ValueError("staff_language must be zh or en")
        return value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        """Accept log levels in any case."""
        return value.upper()

    @cached_property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'parceldesk.sqlite3'}"

    @property
    def effective_rasa_url(self) -> str:
        """Where the Rasa server listens."""
        return (self.rasa_url or f"http://{self.host}:{self.rasa_port}").rstrip("/")

    @property
    def action_server_url(self) -> str:
        """The action server's webhook, as Rasa calls it."""
        return f"http://{self.host}:{self.action_port}/webhook"

    @property
    def sandbox_url(self) -> str:
        """Root URL of the local Telegram sandbox."""
        return f"http://{self.host}:{self.sandbox_port}"

    @property
    def uses_sandbox(self) -> bool:
        """True when no real bot token is configured."""
        return self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value()

    @property
    def bot_token(self) -> str:
        """The real token, or the sandbox's fixed one."""
        if self.uses_sandbox:
            return SANDBOX_TOKEN
        assert self.telegram_bot_token is not None
        return self.telegram_bot_token.get_secret_value()

    @property
    def bot_api_base_url(self) -> str:
        """Base URL python-telegram-bot puts the token after."""
        if self.telegram_api_url:
            return self.telegram_api_url
        return f"{self.sandbox_url}/bot" if self.uses_sandbox else "https://api.telegram.org/bot"

    @property
    def bot_file_base_url(self) -> str:
        """Base URL for file downloads."""
        return self.bot_api_base_url[: -len("/bot")] + "/file/bot" if self.bot_api_base_url.endswith("/bot") else (
            self.bot_api_base_url
        )


def load_settings() -> Settings:
    """Read and validate settings (call at process start, never at import)."""
    return Settings()
