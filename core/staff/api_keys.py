"""Staff API keys: create (shown once), list, revoke, and authenticate a presented key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core import errors
from core.api_keys import ApiKeyRecord, NewKey, Principal, generate_key, matches, prefix_of
from core.staff.audit import record_audit
from core.staff.ports import StaffUnitOfWork


async def create_api_key(
    *, uow: StaffUnitOfWork, actor: str, name: str, scopes: Sequence[str], now: datetime
) -> tuple[int, NewKey]:
    """Store a new key (prefix and hash only); return its id and the key, to be shown once; audited."""
    key = generate_key()
    key_id = await uow.api_keys.add(
        name=name[:100], prefix=key.prefix, key_hash=key.key_hash, scopes=list(scopes), now=now
    )
    await record_audit(
        uow,
        actor=actor,
        action="apikey.create",
        target=str(key_id),
        details={"scopes": list(scopes)},
        now=now,
    )
    await uow.commit()
    return key_id, key


async def list_api_keys(*, uow: StaffUnitOfWork) -> Sequence[ApiKeyRecord]:
    """Every key: id, prefix, name, scopes, created, revoked (never the key itself)."""
    return await uow.api_keys.list()


async def revoke_api_key(*, uow: StaffUnitOfWork, actor: str, key: str, now: datetime) -> bool:
    """Revoke a key given by id, prefix or the whole key; False when there is no such active key."""
    record = await uow.api_keys.get_by_prefix(prefix_of(key) or key)
    if record is None and key.isdigit() and len(key) < 10:
        record = await uow.api_keys.get(int(key))
    if record is None or record.revoked_at is not None:
        return False
    await uow.api_keys.revoke(record.id, now=now)
    await record_audit(uow, actor=actor, action="apikey.revoke", target=key[:20], now=now)
    await uow.commit()
    return True


async def authenticate(*, uow: StaffUnitOfWork, secret: str) -> Principal:
    """The principal behind a presented key; unknown, malformed or revoked keys raise ApiKeyInvalid."""
    prefix = prefix_of(secret)
    if prefix is None:
        raise errors.ApiKeyInvalid(reason="malformed")
    record = await uow.api_keys.get_by_prefix(prefix)
    if record is None or not matches(secret, record.key_hash):
        raise errors.ApiKeyInvalid(reason="unknown")
    if record.revoked_at is not None:
        raise errors.ApiKeyInvalid(reason="revoked")
    return record.principal()
