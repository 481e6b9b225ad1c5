"""Translation catalog: Vietnamese first, English second.

Messages live in gettext ``.po`` files under ``core/locales/<lang>/LC_MESSAGES/``; every ``*.po``
file of a language is read and merged, so each feature keeps its own file. ``msgid`` is a stable
dotted key (``feedback.pick_document``); ``msgstr`` is the text, with ``{name}`` placeholders.
Files are parsed with Babel at first use; nothing is compiled at build time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")


@cache
def catalog(language: str) -> dict[str, str]:
    """Return the merged ``key -> text`` mapping of one language."""
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as fh:
            po = read_po(fh, locale=language)
        for message in po:
            if message.id and message.string:
                merged[str(message.id)] = str(message.string)
    return merged


def normalize_language(language: str | None) -> str:
    """Map a client language code (``vi``, ``en-US``) to a supported language."""
    if not language:
        return DEFAULT_LANGUAGE
    short = language.split("-")[0].split("_")[0].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, language: str | None = None, /, **params: Any) -> str:
    """Translate ``key`` into ``language`` (Vietnamese when unknown), filling ``{placeholders}``."""
    lang = normalize_language(language)
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise KeyError(f"missing translation key: {key}")
    return text.format(**params) if params else text


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def say(keys: Sequence[str], language: str | None, params: Mapping[str, Any], fallback: str) -> str:
    """The texts of ``keys`` joined by a space, placeholders filled from ``params`` (a missing one is
    blank); the text of ``fallback`` when the first key is not in the catalog."""
    import string

    lang = normalize_language(language)

    def text(key: str) -> str | None:
        return catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)

    found = [k for k in keys if text(k) is not None]
    if not keys or found[:1] != list(keys[:1]):
        found = [fallback]
    simple = {k: v for k, v in params.items() if isinstance(v, str | int | float)}
    formatter = string.Formatter()
    return " ".join(formatter.vformat(text(k) or k, (), _Blank(simple)) for k in found)
