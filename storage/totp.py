"""The TOTP second factor of staff accounts (pyotp, RFC 6238: SHA-1, 6 digits, 30-second steps) and the
sealing of its secrets with a key derived from ``GOPY_HASH_KEY``.

A sealed value is ``base64url(nonce ‖ ciphertext ‖ tag)``: the keystream is HMAC-SHA256(enc key,
nonce ‖ counter) (a PRF in counter mode), the tag HMAC-SHA256(mac key, purpose ‖ nonce ‖ ciphertext)
truncated to 128 bits (encrypt-then-MAC), both keys derived from the hash key by HMAC with distinct
labels. Only the standard library is used. A database dump alone therefore does not give the secrets;
the dump and the hash key together do. Changing the hash key makes the stored secrets unreadable: the
accounts then sign in with their password only until an admin resets and they re-enrol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from datetime import datetime

import pyotp

NONCE = 12
TAG = 16
DIGITS = 6
INTERVAL = 30


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class PyotpSecondFactor:
    """The :class:`core.staff.ports.SecondFactor` of the service."""

    def __init__(self, hash_key: str) -> None:
        root = hmac.new(hash_key.encode(), b"gopy/staff-totp/v1", hashlib.sha256).digest()
        self._enc = hmac.new(root, b"encrypt", hashlib.sha256).digest()
        self._mac = hmac.new(root, b"authenticate", hashlib.sha256).digest()

    # -- TOTP -------------------------------------------------------------------------------------------
    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters: 160 bits

    def provisioning_uri(self, secret: str, *, name: str, issuer: str) -> str:
        return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
            name=name, issuer_name=issuer
        )

    def matching_step(self, secret: str, code: str, *, at: datetime, window: int = 1) -> int | None:
        """The time-step (within ``window`` steps of ``at``) whose code is ``code``, or None."""
        code = code.strip().replace(" ", "")
        if len(code) != DIGITS or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
        now_step = totp.timecode(at)
        found = None
        for step in range(now_step - window, now_step + window + 1):
            if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
                found = step
        return found

    # -- sealing ----------------------------------------------------------------------------------------
    def _stream(self, nonce: bytes, length: int) -> bytes:
        out = bytearray()
        counter = 0
        while len(out) < length:
            out += hmac.new(self._enc, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            counter += 1
        return bytes(out[:length])

    def _tag(self, purpose: str, nonce: bytes, body: bytes) -> bytes:
        label = purpose.encode() + b"\x00"
        return hmac.new(self._mac, label + nonce + body, hashlib.sha256).digest()[:TAG]

    def seal(self, data: bytes, *, purpose: str) -> str:
        nonce = os.urandom(NONCE)
        body = bytes(a ^ b for a, b in zip(data, self._stream(nonce, len(data)), strict=True))
        return _b64(nonce + body + self._tag(purpose, nonce, body))

    def unseal(self, sealed: str, *, purpose: str) -> bytes | None:
        raw = _unb64(sealed)
        if raw is None or len(raw) < NONCE + TAG:
            return None
        nonce, body, tag = raw[:NONCE], raw[NONCE:-TAG], raw[-TAG:]
        if not hmac.compare_digest(tag, self._tag(purpose, nonce, body)):
            return None
        return bytes(a ^ b for a, b in zip(body, self._stream(nonce, len(body)), strict=True))

    def seal_secret(self, secret: str) -> str:
        """A base32 secret sealed for the ``totp_secret`` column (64 characters for 160 bits)."""
        return self.seal(base64.b32decode(secret), purpose="totp-secret")

    def unseal_secret(self, sealed: str) -> str | None:
        raw = self.unseal(sealed, purpose="totp-secret")
        return base64.b32encode(raw).decode("ascii") if raw is not None else None
