"""The README and .env.example tell the truth: every setting the code reads is documented in both."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from api.webchat import WebChatSettings
from core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _env_names(model: type[BaseSettings]) -> set[str]:
    prefix = str(model.model_config.get("env_prefix", ""))
    names = set()
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        names.add(str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"{prefix}{name}".upper())
    return names


def test_every_setting_is_in_the_readme_table_and_the_env_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") :].split("\n## ", 1)[0]
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = _env_names(Settings) | _env_names(WebChatSettings)
    assert {"GOPY_BOT_USERNAME", "GOPY_HOME", "TELEGRAM_BOT_TOKEN", "REDIS_URL"} <= names
    assert sorted(n for n in names if f"`{n}`" not in table) == []
    assert sorted(n for n in names if f"#{n}=" not in example) == []
