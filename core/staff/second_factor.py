"""The optional TOTP second factor of staff accounts, and a staff member's own password change.

* Enrolment: :func:`start_totp_enrolment` makes a new secret and hands it back with its ``otpauth://``
  URI and an enrolment token (the secret sealed with the account id and the time, carried by the form:
  nothing is stored yet); :func:`confirm_totp_enrolment` stores the sealed secret only once a first code
  from the authenticator matches it.
* Sign-in: :func:`core.staff.accounts.sign_in` opens a *pending* session when the account has TOTP;
  :func:`verify_second_factor` turns it into a full session (a new token) on a right code. A wrong code
  counts toward the lock-out as a wrong password does; a code is never accepted twice (the last accepted
  time-step is kept and must grow).
* :func:`reset_totp` (an admin, for a lost phone) and :func:`change_own_password` (the current password
  needed, the account's other sessions ended). Everything is audited in the same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import errors
from core.staff.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    SignedIn,
    actor_of,
    open_session,
    register_failure,
    token_hash,
)
from core.staff.audit import record_audit
from core.staff.policy import SessionPolicy
from core.staff.ports import PasswordHasher, SecondFactor, StaffAccount, StaffUnitOfWork

ENROLMENT_VALID = timedelta(minutes=15)  # how long a shown QR code may be confirmed
ENROLMENT_PURPOSE = "totp-enrolment"
ISSUER = "Gopy"


@dataclass(frozen=True)
class Enrolment:
    """A secret being enrolled: the manual key, its URI (for the QR code) and the token of the form."""

    secret: str
    uri: str
    token: str


async def _account(uow: StaffUnitOfWork, account_id: int) -> StaffAccount:
    account = await uow.staff_accounts.get(account_id)
    if account is None:
        raise errors.StaffAccountNotFound()
    return account


def start_totp_enrolment(
    *, totp: SecondFactor, account: StaffAccount, issuer: str = ISSUER, now: datetime
) -> Enrolment:
    """A new secret for ``account`` (not stored: the token carries it, sealed, to the confirmation)."""
    secret = totp.new_secret()
    payload = f"{account.id}:{int(now.timestamp())}:{secret}".encode()
    return Enrolment(
        secret=secret,
        uri=totp.provisioning_uri(secret, name=account.email, issuer=issuer),
        token=totp.seal(payload, purpose=ENROLMENT_PURPOSE),
    )


def enrolment_secret(*, totp: SecondFactor, account_id: int, token: str, now: datetime) -> str:
    """The secret an enrolment token carries, if it is this account's and recent; else refused."""
    raw = totp.unseal(token[:512], purpose=ENROLMENT_PURPOSE)
    try:
        owner, issued, secret = (raw or b"").decode().split(":", 2)
        issued_at = datetime.fromtimestamp(int(issued), tz=UTC)
    except (ValueError, UnicodeDecodeError):
        raise errors.StaffEnrolmentFailed(reason="token") from None
    if owner != str(account_id) or not timedelta(0) <= now - issued_at <= ENROLMENT_VALID:
        raise errors.StaffEnrolmentFailed(reason="expired")
    return secret


async def confirm_totp_enrolment(
    *, uow: StaffUnitOfWork, totp: SecondFactor, account_id: int, token: str, code: str, now: datetime
) -> None:
    """Store the secret of ``token`` for the account once ``code`` matches it (that code's time-step is
    then used: it cannot sign in); audited. A wrong code stores nothing."""
    account = await _account(uow, account_id)
    secret = enrolment_secret(totp=totp, account_id=account_id, token=token, now=now)
    step = totp.matching_step(secret, code, at=now)
    if step is None:
        raise errors.StaffEnrolmentFailed(reason="code")
    await uow.staff_accounts.set_totp(account_id, sealed_secret=totp.seal_secret(secret), last_step=step)
    await record_audit(
        uow,
        actor=actor_of(account.email),
        action="staff.totp_enabled",
        target=account.email,
        details={"replaced": account.totp_secret is not None},
        now=now,
    )
    await uow.commit()


async def verify_second_factor(
    *,
    uow: StaffUnitOfWork,
    totp: SecondFactor,
    pending_token: str,
    code: str,
    now: datetime,
    policy: SessionPolicy = SessionPolicy(),
) -> SignedIn:
    """The code step of a sign-in: a right, unused code ends the pending session and opens a full one
    (a new token). A wrong or reused code is audited and counts toward the lock-out (StaffCodeFailed, or
    StaffAccountLocked when it locks); an unknown or expired pending session is StaffCodeExpired."""
    if not pending_token or len(pending_token) > 128:
        raise errors.StaffCodeExpired()
    digest = token_hash(pending_token)
    session = await uow.staff_accounts.session_by_token_hash(digest)
    account = await uow.staff_accounts.get(session.account_id) if session is not None else None
    if session is None or not session.pending or account is None or session.expires_at <= now:
        if session is not None and session.pending:
            await uow.staff_accounts.delete_session(digest)
            await uow.commit()
        raise errors.StaffCodeExpired()
    if account.locked_until is not None and account.locked_until > now:
        await uow.staff_accounts.delete_session(digest)
        await record_audit(uow, actor=actor_of(account.email), action="staff.sign_in_locked", now=now)
        await uow.commit()
        minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)
        raise errors.StaffAccountLocked(minutes=minutes)
    secret = totp.unseal_secret(account.totp_secret) if account.totp_secret else None
    step = totp.matching_step(secret, code, at=now) if secret else None
    fresh = step is not None and await uow.staff_accounts.advance_totp_step(account.id, step)
    if account.disabled_at is not None or not fresh:
        action = "staff.totp_replayed" if step is not None else "staff.totp_failed"
        locked = await register_failure(uow, account, policy=policy, now=now, action=action)
        await uow.commit()
        if locked:
            raise errors.StaffAccountLocked(minutes=int(policy.lock_for.total_seconds() // 60))
        raise errors.StaffCodeFailed()
    await uow.staff_accounts.delete_session(digest)
    signed = await open_session(uow, account, policy=policy, now=now)
    await uow.commit()
    return signed


async def reset_totp(*, uow: StaffUnitOfWork, actor: str, account_id: int, now: datetime) -> None:
    """Remove an account's second factor (a lost phone): it signs in with its password and may enrol
    again; its sessions end. Audited."""
    account = await _account(uow, account_id)
    await uow.staff_accounts.set_totp(account_id, sealed_secret=None, last_step=None)
    await uow.staff_accounts.delete_sessions_of(account_id)
    await record_audit(
        uow,
        actor=actor,
        action="staff.totp_reset",
        target=account.email,
        details={"had_totp": account.totp_secret is not None},
        now=now,
    )
    await uow.commit()


async def change_own_password(
    *,
    uow: StaffUnitOfWork,
    hasher: PasswordHasher,
    account_id: int,
    current_token: str,
    old_password: str,
    new_password: str,
    confirm_password: str,
    now: datetime,
) -> None:
    """A staff member's new password: the current one must be right (a wrong one is audited), the new
    one long enough and typed twice alike; every other session of the account ends. Audited."""
    account = await _account(uow, account_id)
    actor = actor_of(account.email)
    if not hasher.verify(account.password_hash, old_password[:MAX_PASSWORD_LENGTH]):
        await record_audit(uow, actor=actor, action="staff.password_change_failed", now=now)
        await uow.commit()
        raise errors.StaffPasswordChangeFailed(reason="old")
    if not MIN_PASSWORD_LENGTH <= len(new_password) <= MAX_PASSWORD_LENGTH:
        raise errors.StaffPasswordChangeFailed(reason="length", min=MIN_PASSWORD_LENGTH)
    if not secrets.compare_digest(new_password.encode(), confirm_password.encode()):
        raise errors.StaffPasswordChangeFailed(reason="confirm")
    await uow.staff_accounts.set_password_hash(account_id, hasher.hash(new_password))
    await uow.staff_accounts.delete_sessions_of(account_id, keep_token_hash=token_hash(current_token))
    await record_audit(uow, actor=actor, action="staff.password_change", target=account.email, now=now)
    await uow.commit()


def needs_enrolment(account: StaffAccount, *, required_for_admins: bool) -> bool:
    """Whether the account must enrol a second factor before reaching anything else."""
    return required_for_admins and account.role == "admin" and account.totp_secret is None
