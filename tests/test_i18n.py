"""The translation catalog: every key in both languages, every key used in code present, placeholders match."""

from __future__ import annotations

import re
import string
from pathlib import Path

from core.i18n import LANGUAGES, catalog, t

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(r"""(?:\bt|\b_)\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert _fields(vi[key]) == _fields(en[key]), key


def test_every_literal_key_used_in_code_exists() -> None:
    used: set[str] = set()
    for package in ("core", "bot", "api", "cli", "scheduler"):
        for path in (ROOT / package).rglob("*.py"):
            used.update(KEY_USE.findall(path.read_text(encoding="utf-8")))
    missing = {k for k in used if any(k not in catalog(lang) for lang in LANGUAGES)}
    assert not missing, missing


def test_domain_error_codes_are_translated() -> None:
    import inspect

    from core import errors

    for _name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.GopyError):
            assert cls.code in catalog("vi") and cls.code in catalog("en"), cls.code


def test_unknown_language_falls_back_to_vietnamese() -> None:
    assert t("menu.title", "fr") == t("menu.title", "vi")
    assert t("menu.title", "en-US") == "What would you like to do?"
