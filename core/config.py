"""Settings from the environment: ``GOPY_*``, ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_BASE``, ``REDIS_URL``,
``ZALO_*``."""

from __future__ import annotations

from datetime import time, timedelta
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.admin_document import Issuer
from core.clock import Clock, OffsetClock, SystemClock
from core.errors import InsecureHashKey
from core.staff.policy import SessionPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DATA_DIR = PROJECT_ROOT / "data"
DEV_HASH_KEY = "gopy-development-key-change-me"


class Settings(BaseSettings):
    """Validated configuration; secrets are ``SecretStr`` and never logged."""

    model_config = SettingsConfigDict(
        env_prefix="GOPY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # where the embedded database, report files and the scheduler heartbeat live by default: a per-user
    # data folder (never the working directory), e.g. ~/.local/share/gopy; `make run` uses ./var
    home: Path = Path()  # every default below is filled from ``home`` by _paths_under_home
    database_url: str = ""
    # connection pool of each process (PostgreSQL); an update or request holds one connection at most
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "GOPY_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_API_BASE", "GOPY_TELEGRAM_API_BASE")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "GOPY_REDIS_URL"))
    # Zalo Official Account (docs/zalo.md): the channel is on when the app id and OA secret key are set
    zalo_app_id: str | None = Field(
        default=None, validation_alias=AliasChoices("ZALO_APP_ID", "GOPY_ZALO_APP_ID")
    )
    zalo_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZALO_APP_SECRET", "GOPY_ZALO_APP_SECRET")
    )
    zalo_oa_secret_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZALO_OA_SECRET_KEY", "GOPY_ZALO_OA_SECRET_KEY")
    )
    zalo_api_base: str = Field(
        default="https://openapi.zalo.me",
        validation_alias=AliasChoices("ZALO_API_BASE", "GOPY_ZALO_API_BASE"),
    )
    zalo_oauth_base: str = Field(
        default="https://oauth.zaloapp.com",
        validation_alias=AliasChoices("ZALO_OAUTH_BASE", "GOPY_ZALO_OAUTH_BASE"),
    )
    zalo_refresh_ahead_seconds: int = Field(default=3600, ge=60)  # refresh the access token this early
    zalo_monthly_budget: int = Field(default=0, ge=0)  # paid reminders (48 h to 7 days) per month
    # the OA's follow link (https://zalo.me/<OA id>), given with every invite beside the code to type
    zalo_oa_follow_url: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=300)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Telegram webhook updates handled at once in this process (the rest wait their turn); unset: the
    # database pool's size + overflow, so a waiting update never times out on a pool checkout
    webhook_concurrency: int | None = Field(default=None, ge=1)
    # what setWebhook asks of Telegram (its max_connections, 1..100): connections to ALL webhook workers
    # together; unset: this process's admission limit (right for one worker; with N workers set N x it)
    webhook_max_connections: int | None = Field(default=None, ge=1, le=100)
    hash_key: SecretStr = SecretStr(DEV_HASH_KEY)
    env: Literal["production", "development"] = "production"
    timezone: str = "Asia/Ho_Chi_Minh"
    host: str = "127.0.0.1"
    port: int = 8000
    files_dir: Path = Path()
    staff_chat_ids: list[int] = Field(default_factory=list)
    privacy_version: str = "2025-07"
    # who is asking: named on the first screen, the web chat's header, the privacy notice (docs/wording.md)
    org_name: str = "Ban Dân vận Thành ủy"
    org_name_en: str = ""  # the name in English (empty: the Vietnamese name)
    org_logo: str = ""  # a PNG/SVG/JPEG file, or an https:// address, shown in the web chat's header
    org_contact: str = ""  # a contact line for citizens: a phone number or an email address
    # the Word reports (Quy định 66-QĐ/TW): who issues and signs them, where, to whom; see README
    report_issuer_parent: str = "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG"
    report_issuer: str = "BAN DÂN VẬN THÀNH ỦY"
    report_symbol: str = "BC/BDVTU"
    report_place: str = "Hải Phòng"
    report_recipients: list[str] = Field(
        default_factory=lambda: [
            "Ban Thường vụ Thành ủy (để báo cáo)",
            "Ban Dân vận Trung ương (để báo cáo)",
            "Lưu Văn phòng",
        ]
    )
    report_signer_for: str = "T/M BAN DÂN VẬN"
    report_signer_title: str = "TRƯỞNG BAN"
    report_signer_name: str = ""
    report_majority_share: float = Field(default=0.5, gt=0, lt=1)  # "đa số ý kiến": more than this share
    report_many_share: float = Field(default=0.2, gt=0, lt=1)  # "nhiều ý kiến": at least this share
    # the Word template of both reports (formats/report_template.py), a .docx staff edit; empty: the bundled one
    report_template: str = ""
    # the optional sentence-embedding model of the themes (storage/embeddings.py, docs/consolidation.md):
    # a local directory with model.onnx and tokenizer.json, never downloaded; empty: key words only
    themes_model_path: str = ""
    themes_model_prefix: str = ""  # put before every text, e.g. "query: " for the multilingual-e5 models
    themes_model_threshold: float = Field(default=0.2, gt=0, le=2)  # cosine distance under which themes merge
    max_text_length: int = 4000
    sections_page_size: int = 8
    # zip bomb guard of every DOCX / XLSX / ODT upload (core/archives.py)
    archive_max_entries: int = Field(default=1000, ge=1)
    archive_max_entry_mb: int = Field(default=64, ge=1)
    archive_max_total_mb: int = Field(default=256, ge=1)
    archive_max_ratio: int = Field(default=100, ge=10)
    meeting_import_max_rows: int = Field(default=20_000, ge=1)
    # background export jobs (core/staff/export_jobs.py, docs/staff-console-backend.md)
    exports_dir: Path = Path()
    export_background_rows: int = Field(default=50_000, ge=1)  # more rows: a background job
    export_job_stale_seconds: float = Field(default=300.0, gt=0)  # a running job silent this long failed
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # rate limits (storage/ratelimit.py), shared through Redis when REDIS_URL is set
    api_auth_failure_limit: int = Field(default=10, ge=1)  # wrong API keys per client address ...
    api_auth_failure_window_seconds: int = Field(default=900, ge=1)  # ... per this window
    api_key_rate_limit: int = Field(default=600, ge=1)  # requests per API key ...
    api_address_rate_limit: int = Field(default=1200, ge=1)  # ... and per client address ...
    api_rate_window_seconds: int = Field(default=60, ge=1)  # ... per this window
    bot_flood_limit: int = Field(default=30, ge=1)  # updates per Telegram user ...
    bot_flood_window_seconds: int = Field(default=60, ge=1)  # ... per this window
    rate_limit_prefix: str = "gopy:rl"
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
    heartbeat_file: Path = Path()
    send_rate_per_second: float = 29.0
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
    retention_export_days: int = Field(default=7, ge=1)
    # the staff console at /staff (docs/staff-console.md)
    staff_lockout_attempts: int = Field(default=5, ge=1)  # failed sign-ins ...
    staff_lockout_window_minutes: int = Field(default=15, ge=1)  # ... within this window lock ...
    staff_lockout_minutes: int = Field(default=15, ge=1)  # ... the account for this long
    staff_session_idle_minutes: int = Field(default=60, ge=1)  # a session unused this long ends
    staff_session_hours: int = Field(default=12, ge=1)  # and any session ends this long after sign-in
    staff_admin_email: str = ""  # the first admin, created at start when no staff account exists ...
    staff_admin_password_file: Path | None = None  # ... with the password in this file (production)
    staff_totp_required_for_admins: bool = False  # admins must enrol a TOTP second factor to use /staff
    clock_offset_seconds: float = 0.0  # demos and tests only: shifts every 'now' of the process

    @model_validator(mode="before")
    @classmethod
    def _paths_under_home(cls, data: Any) -> Any:
        """Default the database, report files and heartbeat to ``home`` (given or the per-user folder)."""
        if isinstance(data, dict):
            home = Path(data.get("home") or platformdirs.user_data_path("gopy")).expanduser().absolute()
            defaults = {
                "home": home,
                "database_url": f"sqlite+aiosqlite:///{home / 'gopy.db'}",
                "files_dir": home / "files",
                "heartbeat_file": home / "scheduler.heartbeat",
                "exports_dir": home / "exports",
            }
            data = {**data, **{k: v for k, v in defaults.items() if not data.get(k)}}
        return data

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

    @field_validator("report_template")
    @classmethod
    def _template_file(cls, value: str) -> str:
        if value.strip():
            path = Path(value.strip()).expanduser()
            if not path.is_file() or path.suffix.lower() != ".docx":
                raise ValueError(f"report_template {path} is not a .docx file")
            return str(path)
        return ""

    @field_validator("themes_model_path")
    @classmethod
    def _model_directory(cls, value: str) -> str:
        if value.strip():
            folder = Path(value.strip()).expanduser()
            missing = [name for name in ("model.onnx", "tokenizer.json") if not (folder / name).is_file()]
            if missing:
                raise ValueError(f"themes_model_path {folder} lacks {', '.join(missing)}")
            return str(folder)
        return ""

    @model_validator(mode="after")
    def _share_order(self) -> Settings:
        if self.report_many_share > self.report_majority_share:
            raise ValueError("report_many_share must not exceed report_majority_share")
        return self

    def report_issuer_of(self) -> Issuer:
        """The issuing body, place, recipients, signer and share thresholds of the Word reports."""
        return Issuer(
            parent=self.report_issuer_parent,
            body=self.report_issuer,
            symbol=self.report_symbol,
            place=self.report_place,
            recipients=tuple(self.report_recipients),
            signer_for=self.report_signer_for,
            signer_title=self.report_signer_title,
            signer_name=self.report_signer_name,
            majority_share=self.report_majority_share,
            many_share=self.report_many_share,
            generator=f"Gopy {_version()}",
        )

    def staff_policy(self) -> SessionPolicy:
        """The staff console's lock-out and session lifetimes."""
        return SessionPolicy(
            max_failures=self.staff_lockout_attempts,
            failure_window=timedelta(minutes=self.staff_lockout_window_minutes),
            lock_for=timedelta(minutes=self.staff_lockout_minutes),
            idle=timedelta(minutes=self.staff_session_idle_minutes),
            absolute=timedelta(hours=self.staff_session_hours),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def clock(self) -> Clock:
        """The process clock: the system clock, shifted when ``clock_offset_seconds`` is set."""
        if self.clock_offset_seconds:
            return OffsetClock(timedelta(seconds=self.clock_offset_seconds))
        return SystemClock()

    @property
    def bot_identity_file(self) -> Path:
        """Where the bot's username, learnt from getMe, is cached for invite links."""
        return self.home / "telegram-bot.json"

    @property
    def development_hash_key(self) -> bool:
        """The hash key is the public development key (or empty): chat ids would be hashed reversibly."""
        key = self.hash_key.get_secret_value()
        return not key or key == DEV_HASH_KEY

    def require_hash_key(self) -> None:
        """Refuse the public development key unless ``GOPY_ENV=development``."""
        if self.development_hash_key and self.env != "development":
            raise InsecureHashKey()

    @property
    def zalo_configured(self) -> bool:
        """The Zalo OA channel is on: the app id, app secret and OA secret key are set."""
        return bool(self.zalo_app_id and self.zalo_app_secret and self.zalo_oa_secret_key)

    @property
    def bot_token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def webhook_admission(self) -> int:
        """How many Telegram webhook updates this process handles at once (``GOPY_WEBHOOK_CONCURRENCY``,
        else every connection the pool can lend: size + overflow)."""
        return self.webhook_concurrency or self.db_pool_size + self.db_max_overflow

    @property
    def webhook_connections(self) -> int:
        """``max_connections`` for ``setWebhook``: Telegram's bound over every webhook worker together
        (``GOPY_WEBHOOK_MAX_CONNECTIONS``, else this process's admission limit)."""
        return self.webhook_max_connections or self.webhook_admission


def _version() -> str:
    try:
        return metadata.version("gopy")
    except metadata.PackageNotFoundError:
        return "dev"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
