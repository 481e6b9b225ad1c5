"""The staff console's lock-out and session lifetimes (no imports: core.config builds it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class SessionPolicy:
    """Lock-out and session lifetimes (from the ``GOPY_STAFF_*`` settings)."""

    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=60)
    absolute: timedelta = timedelta(hours=12)
