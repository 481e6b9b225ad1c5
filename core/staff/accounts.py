"""Staff console accounts: create, sign in (with a lock-out), sign out, resolve a session, administer.

Passwords are hashed by a :class:`~core.staff.ports.PasswordHasher` (Argon2, ``storage.passwords``);
sessions are server-side: the browser keeps a random token, storage keeps its SHA-256 only. Every
sign-in (good or bad), sign-out and account change is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import errors
from core.staff.audit import record_audit
from core.staff.policy import SessionPolicy
from core.staff.ports import PasswordHasher, StaffAccount, StaffSession, StaffUnitOfWork

ROLES = ("viewer", "analyst", "admin")  # each role may do what the roles before it may
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SECOND_FACTOR_WAIT = timedelta(minutes=5)  # how long after the password the code may be given


def role_rank(role: str) -> int:
    """0 viewer, 1 analyst, 2 admin; -1 for anything else (no access)."""
    return ROLES.index(role) if role in ROLES else -1


def role_allows(role: str | None, min_role: str) -> bool:
    """Whether ``role`` may see what needs ``min_role``."""
    return role is not None and role_rank(role) >= role_rank(min_role) >= 0


def actor_of(email: str) -> str:
    """The audit actor of a staff member."""
    return f"staff:{email}"


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes in the cookie (never stored), the CSRF token in every form."""

    token: str
    csrf_token: str
    account: StaffAccount
    second_factor: bool = False  # True: a pending session, the TOTP code is still to give


@dataclass(frozen=True)
class StaffPrincipal:
    """Who a valid session belongs to."""

    account: StaffAccount
    session: StaffSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check(email: str, role: str, password: str) -> None:
    if not EMAIL_RE.match(email):
        raise errors.StaffInvalidAccount(reason="email")
    if role not in ROLES:
        raise errors.StaffInvalidAccount(reason="role")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise errors.StaffInvalidAccount(reason="password", min=MIN_PASSWORD_LENGTH)


async def create_staff_account(
    *,
    uow: StaffUnitOfWork,
    hasher: PasswordHasher,
    actor: str,
    email: str,
    role: str,
    password: str,
    now: datetime,
) -> int:
    """Add an account; refused for a taken email, an unknown role or a short password; audited."""
    email = normalize_email(email)
    _check(email, role, password)
    if await uow.staff_accounts.by_email(email) is not None:
        raise errors.StaffAccountExists()
    account_id = await uow.staff_accounts.add(
        email=email, role=role, password_hash=hasher.hash(password), now=now
    )
    await record_audit(
        uow, actor=actor, action="staff.account_create", target=email, details={"role": role}, now=now
    )
    await uow.commit()
    return account_id


async def count_staff_accounts(*, uow: StaffUnitOfWork) -> int:
    return await uow.staff_accounts.count()


async def list_staff_accounts(*, uow: StaffUnitOfWork) -> Sequence[StaffAccount]:
    """Every account, by id (hashes included: callers show email, role and state only)."""
    return await uow.staff_accounts.list()


async def sign_in(
    *,
    uow: StaffUnitOfWork,
    hasher: PasswordHasher,
    email: str,
    password: str,
    now: datetime,
    policy: SessionPolicy = SessionPolicy(),
    previous_token: str | None = None,
) -> SignedIn:
    """Check the password and open a new session (a new token: the previous one, if any, is ended).

    After ``policy.max_failures`` failures within ``policy.failure_window`` the account is locked for
    ``policy.lock_for`` (StaffAccountLocked, even with the right password). Failures are audited and
    committed before the error is raised.
    """
    email = normalize_email(email)[:254]
    if previous_token:
        await uow.staff_accounts.delete_session(token_hash(previous_token))
    account = await uow.staff_accounts.by_email(email)
    if account is None:
        hasher.verify(_DUMMY_HASH.get(hasher), password)  # the same work as for a real account
        await record_audit(uow, actor=actor_of(email), action="staff.sign_in_failed", now=now)
        await uow.commit()
        raise errors.StaffSignInFailed()
    if account.locked_until is not None and account.locked_until > now:
        minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)
        await record_audit(uow, actor=actor_of(email), action="staff.sign_in_locked", now=now)
        await uow.commit()
        raise errors.StaffAccountLocked(minutes=minutes)
    if account.disabled_at is not None or not hasher.verify(account.password_hash, password):
        locked = await register_failure(uow, account, policy=policy, now=now, action="staff.sign_in_failed")
        await uow.commit()
        if locked:
            raise errors.StaffAccountLocked(minutes=int(policy.lock_for.total_seconds() // 60))
        raise errors.StaffSignInFailed()
    if account.totp_secret is not None:
        # the password is right; the session stays pending until the code is given. The failure
        # counters are not reset here: only a right code does that, so wrong codes add up to the lock-out.
        token = secrets.token_urlsafe(32)
        await uow.staff_accounts.add_session(
            token_hash=token_hash(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            now=now,
            expires_at=now + SECOND_FACTOR_WAIT,
            pending=True,
        )
        await record_audit(uow, actor=actor_of(email), action="staff.sign_in_password_ok", now=now)
        await uow.commit()
        return SignedIn(token=token, csrf_token="", account=account, second_factor=True)
    signed = await open_session(uow, account, policy=policy, now=now)
    await uow.commit()
    return signed


async def register_failure(
    uow: StaffUnitOfWork, account: StaffAccount, *, policy: SessionPolicy, now: datetime, action: str
) -> bool:
    """Count a failed sign-in step (password or code) toward the lock-out; audited. True when it locks
    the account (its pending sessions are then ended)."""
    first = account.first_failed_at
    count = account.failed_count
    if first is None or now - first > policy.failure_window:
        first, count = now, 0
    count += 1
    locked = now + policy.lock_for if count >= policy.max_failures else None
    await uow.staff_accounts.set_failures(
        account.id, count=0 if locked else count, first_at=None if locked else first, locked_until=locked
    )
    await record_audit(uow, actor=actor_of(account.email), action=action, now=now)
    if locked is not None:
        await uow.staff_accounts.delete_sessions_of(account.id)
        await record_audit(
            uow, actor=actor_of(account.email), action="staff.locked", target=account.email, now=now
        )
    return locked is not None


async def open_session(
    uow: StaffUnitOfWork, account: StaffAccount, *, policy: SessionPolicy, now: datetime
) -> SignedIn:
    """A full session for an account whose sign-in succeeded (failures reset; audited; not committed)."""
    await uow.staff_accounts.set_failures(account.id, count=0, first_at=None, locked_until=None)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await uow.staff_accounts.add_session(
        token_hash=token_hash(token),
        account_id=account.id,
        csrf_token=csrf,
        now=now,
        expires_at=now + policy.absolute,
    )
    await record_audit(uow, actor=actor_of(account.email), action="staff.sign_in", now=now)
    return SignedIn(token=token, csrf_token=csrf, account=account)


class _DummyHashes:
    """One hash per hasher, made once, checked against for unknown emails (no timing oracle)."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._cache:
            self._cache[key] = hasher.hash(secrets.token_urlsafe(16))
        return self._cache[key]


_DUMMY_HASH = _DummyHashes()


async def resolve_session(
    *, uow: StaffUnitOfWork, token: str, now: datetime, policy: SessionPolicy = SessionPolicy()
) -> StaffPrincipal | None:
    """The account behind a session token, or None (unknown, expired, idle too long, disabled account).

    A valid session's ``last_seen_at`` moves to ``now`` (committed); an expired one is deleted.
    """
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    session = await uow.staff_accounts.session_by_token_hash(digest)
    if session is None:
        return None
    account = await uow.staff_accounts.get(session.account_id)
    if session.pending:  # the second factor is still to give: no access with this token
        return None
    if (
        account is None
        or account.disabled_at is not None
        or session.expires_at <= now
        or now - session.last_seen_at > policy.idle
    ):
        await uow.staff_accounts.delete_session(digest)
        await uow.commit()
        return None
    if now - session.last_seen_at >= timedelta(seconds=60):  # one write a minute at most
        await uow.staff_accounts.touch_session(session.id, now=now)
        await uow.commit()
    return StaffPrincipal(account=account, session=session)


async def sign_out(*, uow: StaffUnitOfWork, token: str, actor: str, now: datetime) -> None:
    """End a session (its token no longer works); audited."""
    await uow.staff_accounts.delete_session(token_hash(token))
    await record_audit(uow, actor=actor, action="staff.sign_out", now=now)
    await uow.commit()


async def _account(uow: StaffUnitOfWork, account_id: int) -> StaffAccount:
    account = await uow.staff_accounts.get(account_id)
    if account is None:
        raise errors.StaffAccountNotFound()
    return account


async def change_staff_role(
    *, uow: StaffUnitOfWork, actor: str, account_id: int, role: str, now: datetime
) -> None:
    """Give an account another role (its sessions end, so the new role applies at once); audited."""
    if role not in ROLES:
        raise errors.StaffInvalidAccount(reason="role")
    account = await _account(uow, account_id)
    await uow.staff_accounts.set_role(account_id, role)
    await uow.staff_accounts.delete_sessions_of(account_id)
    await record_audit(
        uow,
        actor=actor,
        action="staff.account_role",
        target=account.email,
        details={"from": account.role, "to": role},
        now=now,
    )
    await uow.commit()


async def set_staff_disabled(
    *, uow: StaffUnitOfWork, actor: str, account_id: int, disabled: bool, now: datetime
) -> None:
    """Disable (its sessions end at once) or re-enable an account; audited."""
    account = await _account(uow, account_id)
    await uow.staff_accounts.set_disabled(account_id, now if disabled else None)
    if disabled:
        await uow.staff_accounts.delete_sessions_of(account_id)
    else:
        await uow.staff_accounts.set_failures(account_id, count=0, first_at=None, locked_until=None)
    await record_audit(
        uow,
        actor=actor,
        action="staff.account_disable" if disabled else "staff.account_enable",
        target=account.email,
        now=now,
    )
    await uow.commit()
