"""Settings from the environment (and an optional .env file), validated once at start.

Only the process a person starts reads `.env` (`parceldesk run`, the CLI, a bot started by hand). The supervisor's
children (parceldesk/processes.py child_env) get their settings resolved in their environment, with
PARCELDESK_NO_ENV_FILE=1: they run in the project root, and reading `.env` again would hand every child (the action
server, the sandbox) every secret written there, the bot token included.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TOKEN = "123456789:sandbox-token-not-secret"
# What Telegram accepts as a webhook secret_token (setWebhook): 1-256 of A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Addresses that mean "every interface": clients connect to loopback instead.
ANY_ADDRESS = ("0.0.0.0", "", "::")
# Set (to "1") for the supervisor's children: their Settings ignore `.env` and read the environment only.
NO_ENV_FILE_ENV = "PARCELDESK_NO_ENV_FILE"


def _new_secret() -> SecretStr:
    """A fresh random secret (per Settings instance, i.e. per run unless configured)."""
    return SecretStr(secrets.token_urlsafe(24))


class Settings(BaseSettings):
    """Every knob of a ParcelDesk deployment; env vars are PARCELDESK_<NAME> unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="PARCELDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        # A validation error must not echo the input: it holds the bot token and other secrets.
        hide_input_in_errors=True,
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
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret token Telegram echoes on webhooks; required in webhook mode."
    )
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443

    database_url: SecretStr = Field(
        default=SecretStr(""),
        description="SQLAlchemy URL (a secret: it may hold a password); an SQLite file under data_dir by default.",
    )
    database_schema: str | None = Field(default=None, description="PostgreSQL schema (search_path) to use.")
    data_dir: Path = PROJECT_ROOT / ".data"
    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "parceldesk",
        description="Engine environments and trained models, keyed by content hash (shared across clones).",
    )

    env: Literal["development", "production"] = Field(
        default="development", description="production refuses the sandbox and insists on a real bot token."
    )
    sandbox: bool | None = Field(
        default=None,
        description="Use the local Telegram sandbox; unset = in development with neither bot token nor webhook URL.",
    )
    sandbox_control_token: SecretStr = Field(
        default_factory=_new_secret,
        description="Token of the sandbox's control API and chat page; a fresh random one per run unless set.",
    )

    host: str = Field(default="127.0.0.1", description="Default bind address of every service without its own.")
    # One bind address per service (loopback by default via host): read them with bind_host(<service>).
    rasa_host: str | None = Field(default=None, description="Where Rasa listens; PARCELDESK_HOST by default.")
    action_host: str | None = Field(default=None, description="Where the action server listens; PARCELDESK_HOST.")
    sandbox_host: str | None = Field(default=None, description="Where the sandbox listens; PARCELDESK_HOST.")
    rasa_token: SecretStr | None = Field(
        default=None, description="Rasa HTTP API token; generated into <cache_dir>/secrets (0600) when unset."
    )
    action_token: SecretStr | None = Field(
        default=None, description="Shared secret Rasa sends the action server; generated like rasa_token when unset."
    )
    rasa_port: int = 5005
    action_port: int = 5055
    sandbox_port: int = 8081
    rasa_url: str | None = Field(default=None, description="Rasa server URL; http://host:rasa_port by default.")
    rasa_timeout_seconds: float = Field(default=6.0, gt=0, description="After this the customer gets a holding reply.")
    engine_python: Path | None = Field(default=None, description="A Python 3.10 for the Rasa engine environment.")

    # The company customers talk to (ParcelDesk is the software): every text that names it, the bot's and Rasa's.
    brand_name_zh: str = Field(default="迅捷速运", min_length=1, description="The company's name in Chinese texts.")
    brand_name_en: str = Field(default="XunJie Express", min_length=1, description="The company's name in English.")

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
    # Said instead of a promise of an agent when no staff group is configured (and beside every queue notice).
    # The defaults are the demo company's (XunJie Express): .example is reserved, the 400 number is made up.
    contact_phone: str = Field(default="400-820-2026", description="The company's customer-service phone number.")
    contact_email: str = Field(
        default="service@xunjie-express.example", description="The company's customer-service email address."
    )
    clock_file: Path | None = Field(
        default=None, description="Tests only: a file with a clock offset in seconds shared by every process."
    )
    # The complaint desk (bot/complaintdesk.py, bot/complaintjobs.py) and the complaint report (reports/).
    complaint_remind_minutes: int = Field(
        default=60, ge=0, description="The assignee of a complaint is reminded this long before its due time."
    )
    weekly_report: bool = Field(
        default=True, description="Send managers and admins the weekly complaint summary (false = opt out)."
    )
    weekly_report_at: str = Field(
        default="mon 09:00", description="When the weekly complaint summary goes out (weekday HH:MM, company time)."
    )
    max_message_chars: int = Field(
        default=4096, gt=0,
        description="Longer customer messages are politely refused (Telegram itself allows 4,096 characters).",
    )
    max_working_updates: int = Field(
        default=16, ge=1, description="Updates handled at once (different chats); one chat's are always in order."
    )
    telegram_messages_per_second: float = Field(
        default=30, gt=0, description="Overall send rate towards Telegram (its documented flood limit)."
    )
    telegram_group_messages_per_minute: float = Field(
        default=20, gt=0, description="Send rate per group chat, e.g. the staff group (Telegram's limit)."
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0, gt=0, description="SQLite: how long a writer waits for another's lock before it gives up."
    )
    spool_dir: Path | None = Field(
        default=None, description="Where updates wait while the database is unreachable (data_dir/spool by default)."
    )
    spool_retry_seconds: float = Field(
        default=2.0, gt=0, description="How often the bot checks whether the database is back for spooled updates."
    )
    telegram_retries: int = Field(
        default=3, ge=0, description="Retries of a request Telegram answered 429 (waiting its retry_after)."
    )
    # The outbox (crm/outbox.py): messages Telegram did not take even after the rate limiter's retries.
    outbox_retry_seconds: float = Field(
        default=2.0, gt=0, description="First wait before a kept message is sent again (then doubling)."
    )
    outbox_max_retry_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between two attempts of a kept message."
    )
    outbox_give_up_minutes: float = Field(
        default=30.0, gt=0, description="A kept message still failing this long after it was written is given up."
    )
    log_level: str = "INFO"
    # Personal data (privacy/): how long each kind is kept before the daily retention job masks or deletes it.
    retention_chat_days: int = Field(
        default=180, ge=1, description="Chat message texts (and Rasa's conversation events) are kept this long."
    )
    retention_case_days: int = Field(
        default=730,
        ge=1,
        description="Free text of escalations, complaints, feedback and pickups: this long after the case ended.",
    )
    retention_audit_days: int = Field(default=1095, ge=1, description="Audit entries are kept this long.")
    retention_job_hours: float = Field(default=24.0, gt=0, description="How often the bot runs the retention job.")
    learn_low_confidence: float = Field(
        default=0.7, ge=0, le=1, description="Review queue: answers below this confidence are worth labelling."
    )
    learn_similarity: float = Field(
        default=0.88, gt=0, le=1, description="Review queue: texts at least this alike (difflib ratio) share a label."
    )
    learn_project_root: Path = Field(
        default=PROJECT_ROOT,
        description="/retrain in the chat exports labels into, and trains from, this project's files (its "
        "config.yml, domain.yml, nlu/data, held-out nlu/eval); the checkout by default.",
    )

    # Shipment data in (ingest/): the HTTP ingestion API runs only when a token is configured.
    ingest_token: SecretStr | None = Field(
        default=None, description="Bearer token of the ingestion API; without one `parceldesk run` does not start it."
    )
    ingest_host: str | None = Field(
        default=None, description="Where the ingestion API listens; PARCELDESK_HOST (loopback) by default."
    )
    ingest_port: int = Field(default=8090, ge=1, le=65535, description="Port of the ingestion API.")
    ingest_max_items: int = Field(default=5000, gt=0, description="Most items one API batch may carry.")
    ingest_max_body_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest request body the ingestion API reads."
    )
    # Proactive care (crm/notices.py, bot/notices.py).
    quiet_hours: str = Field(
        default="22:00-08:00",
        description="No non-urgent notices in this local window (HH:MM-HH:MM, may cross midnight; 'off' = none).",
    )
    notice_job_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often the bot sends due notices from the outbox."
    )
    notice_max_age_hours: float = Field(
        default=48.0, gt=0, description="Events older than this (a historical import) notify nobody."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then `.env` — which a supervised child (NO_ENV_FILE_ENV) never reads."""
        if os.environ.get(NO_ENV_FILE_ENV) == "1":
            return init_settings, env_settings, file_secret_settings
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("staffed_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        """Accept HH:MM-HH:MM with the start before the end."""
        from core.hours import parse_hours

        parse_hours(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        """Accept HH:MM-HH:MM (crossing midnight is fine) or 'off'."""
        from core.hours import parse_quiet_hours

        parse_quiet_hours(value)
        return value

    @field_validator("ingest_token")
    @classmethod
    def _ingest_token(cls, value: SecretStr | None) -> SecretStr | None:
        """A short bearer token is guessable: ask for at least 16 characters (an empty one means none)."""
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("ingest_token must be at least 16 characters (e.g. `openssl rand -hex 24`)")
        return value

    @field_validator("weekly_report_at")
    @classmethod
    def _weekly_report_at(cls, value: str) -> str:
        """Accept a weekday and a time, e.g. 'mon 09:00'."""
        from core.weekly import parse_weekly

        parse_weekly(value)
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
    def effective_database_url(self) -> SecretStr:
        """The database URL, defaulting to an SQLite file in data_dir (read it with .get_secret_value())."""
        if self.database_url.get_secret_value():
            return self.database_url
        return SecretStr(f"sqlite:///{self.data_dir / 'parceldesk.sqlite3'}")

    def brand_name(self, language: str) -> str:
        """The company's name as a text in this language says it."""
        return self.brand_name_zh if language == "zh" else self.brand_name_en

    @property
    def effective_spool_dir(self) -> Path:
        """The bot's spool directory (see bot/spool.py)."""
        return self.spool_dir or self.data_dir / "spool"

    @model_validator(mode="after")
    def _doors_locked(self) -> Settings:
        """Webhook mode needs its secret; production never runs against the sandbox or without a bot token."""
        if self.webhook_url:
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if not secret:
                raise ValueError(
                    "webhook mode (PARCELDESK_WEBHOOK_URL) needs PARCELDESK_WEBHOOK_SECRET: without it anyone who "
                    "reaches the port can post forged updates (e.g. `openssl rand -hex 32`)"
                )
            if not WEBHOOK_SECRET.match(secret):
                raise ValueError("PARCELDESK_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)")
        if self.env == "production" and self.sandbox:
            raise ValueError("PARCELDESK_ENV=production refuses sandbox mode (PARCELDESK_SANDBOX / --sandbox)")
        return self

    def bot_mode_error(self) -> str | None:
        """Why the bot cannot talk to Telegram with these settings (None when it can); checked where it starts.

        Not a validator: processes that never talk to Telegram (action server, CLI) need no bot token.
        """
        if self.uses_sandbox or self._has_bot_token:
            return None
        if self.env == "production":
            return "PARCELDESK_ENV=production needs TELEGRAM_BOT_TOKEN (the sandbox is for development only)"
        if self.webhook_url:
            return (
                "webhook mode (PARCELDESK_WEBHOOK_URL) needs TELEGRAM_BOT_TOKEN; a webhook deployment never falls "
                "back to the sandbox (to try webhook mode against the local sandbox, set PARCELDESK_SANDBOX=true)"
            )
        return "PARCELDESK_SANDBOX=false needs TELEGRAM_BOT_TOKEN"

    def bind_host(self, service: str) -> str:
        """Where a service listens: its own <service>_host setting, else PARCELDESK_HOST."""
        own = getattr(self, f"{service}_host", None)
        return own if own is not None else self.host

    def connect_host(self, service: str) -> str:
        """The address clients use for a service: its bind address, loopback when that means every interface."""
        bound = self.bind_host(service)
        return "127.0.0.1" if bound in ANY_ADDRESS else bound

    @property
    def effective_rasa_url(self) -> str:
        """Where the Rasa server listens."""
        return (self.rasa_url or f"http://{self.connect_host('rasa')}:{self.rasa_port}").rstrip("/")

    @property
    def action_server_url(self) -> str:
        """The action server's webhook, as Rasa calls it."""
        return f"http://{self.connect_host('action')}:{self.action_port}/webhook"

    @property
    def sandbox_url(self) -> str:
        """Root URL of the local Telegram sandbox."""
        return f"http://{self.connect_host('sandbox')}:{self.sandbox_port}"

    @property
    def _has_bot_token(self) -> bool:
        """Whether a non-empty real bot token is configured."""
        return self.telegram_bot_token is not None and bool(self.telegram_bot_token.get_secret_value())

    @property
    def uses_sandbox(self) -> bool:
        """Sandbox mode: chosen explicitly (PARCELDESK_SANDBOX / --sandbox), else in development without a token
        and without a webhook URL."""
        if self.sandbox is not None:
            return self.sandbox
        # Out of the box (development) a new user has no token and gets the sandbox; production never guesses,
        # and neither does a webhook deployment (Telegram posts to it): a missing token there is an error.
        return self.env == "development" and not self._has_bot_token and not self.webhook_url

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


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings (call at process start, never at import); overrides win over the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]
