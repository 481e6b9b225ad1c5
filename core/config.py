"""Settings from the environment: ``GOPY_*``, ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_BASE``, ``REDIS_URL``."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DATA_DIR = PROJECT_ROOT / "data"
DEV_HASH_KEY = "gopy-development-key-change-me"


class Settings(BaseSettings):
    """Validated configuration; secrets are ``SecretStr`` and never logged."""

    model_config = SettingsConfigDict(
        env_prefix="GOPY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///./var/gopy.db"
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "GOPY_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_API_BASE", "GOPY_TELEGRAM_API_BASE")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "GOPY_REDIS_URL"))
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    hash_key: SecretStr = SecretStr(DEV_HASH_KEY)
    timezone: str = "Asia/Ho_Chi_Minh"
    host: str = "127.0.0.1"
    port: int = 8000
    files_dir: Path = Path("./var/files")
    data_dir: Path = BUNDLED_DATA_DIR
    staff_chat_ids: list[int] = Field(default_factory=list)
    privacy_version: str = "2025-07"
    max_text_length: int = 4000
    sections_page_size: int = 8
    log_level: str = "INFO"
    # reporting units and reminders (see docs/reminders.md)
    bot_username: str | None = None
    invite_ttl_hours: int = 72
    reminder_days_before: list[int] = Field(default_factory=lambda: [7, 3, 1, 0])
    reminder_time: str = "08:00"
    reminder_overdue_days: int = 3
    reminder_escalate: bool = True
    quiet_hours: str = "21:00-07:00"
    digest_time: str = "08:30"
    scheduler_tick_seconds: float = 30.0
    scheduler_lease_seconds: float = 90.0
    heartbeat_file: Path = Path("./var/scheduler.heartbeat")
    send_rate_per_second: float = 25.0
    send_chat_interval_seconds: float = 1.0
    send_max_attempts: int = 5
    send_claim_timeout_seconds: float = Field(default=300.0, gt=0)
    # retention: a daily purge by the active scheduler (see docs/operations.md)
    retention_time: str = "03:30"
    retention_dialog_days: int = Field(default=30, ge=1)
    retention_draft_days: int = Field(default=7, ge=1)
    retention_update_days: int = Field(default=7, ge=2)  # Telegram re-sends an update for up to a day
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000)
    retention_max_rows: int = Field(default=100_000, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("max_text_length")
    @classmethod
    def _sane_limit(cls, value: int) -> int:
        if not 10 <= value <= 3500 * 4:
            raise ValueError("max_text_length must be between 10 and 14000")
        return value

    @field_validator("reminder_time", "digest_time", "retention_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if value:
            time.fromisoformat(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value:
            start, _, end = value.partition("-")
            time.fromisoformat(start.strip())
            time.fromisoformat(end.strip())
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def bot_token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
