"""Staff API keys: scopes, generation and checking. A key is shown once; only its hash is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core import errors

KEY_PREFIX = "gopy"


class Scope(StrEnum):
    FEEDBACK_READ = "feedback:read"
    FEEDBACK_PII = "feedback:pii"
    FEEDBACK_MODERATE = "feedback:moderate"
    REPORTS_READ = "reports:read"
    THEMES_WRITE = "themes:write"
    ADMIN = "admin"


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: ``secret`` is the whole key, to be shown once and never stored."""

    prefix: str
    secret: str
    key_hash: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}:{self.name}"

    def has(self, scope: Scope | str) -> bool:
        """``admin`` implies every scope."""
        return Scope.ADMIN.value in self.scopes or str(scope) in self.scopes


def parse_scopes(text: str) -> list[str]:
    """``"feedback:read,reports:read"`` → a sorted list of known scopes; an unknown one is an error."""
    scopes = sorted({part.strip() for part in text.split(",") if part.strip()})
    known = {s.value for s in Scope}
    unknown = [s for s in scopes if s not in known]
    if unknown or not scopes:
        raise errors.InvalidQuery(field="scopes", reason=",".join(unknown) or "empty")
    return scopes


def hash_secret(secret: str) -> str:
    """SHA-256 of the whole key (keys carry 190 random bits: a plain hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key() -> NewKey:
    """``gopy_<prefix>_<secret>``: the prefix finds the row, the hash of the whole key proves it."""
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    return NewKey(prefix=prefix, secret=secret, key_hash=hash_secret(secret))


def prefix_of(secret: str) -> str | None:
    """The lookup prefix of a presented key, or ``None`` when it is not shaped like one."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


def matches(secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), key_hash)


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored key as staff see it (never the key itself)."""

    id: int
    name: str
    prefix: str
    key_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    def principal(self) -> Principal:
        return Principal(key_id=self.id, name=self.name, scopes=frozenset(self.scopes))
