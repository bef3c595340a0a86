"""Ed25519 verification of Discord's interaction requests (PyNaCl), with a freshness check."""

from __future__ import annotations

import math
import time

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_AGE = 300.0  # seconds a signed timestamp stays acceptable, either side of our clock


class Verifier:
    """Checks `X-Signature-Ed25519` over `X-Signature-Timestamp` + raw body against the app's public key."""

    def __init__(self, public_key_hex: str, *, max_age: float = MAX_AGE) -> None:
        try:
            self._key = VerifyKey(bytes.fromhex(public_key_hex.strip()))
        except ValueError as exc:
            raise ValueError("DISCORD_PUBLIC_KEY must be the application's 64-character hex public key") from exc
        self.max_age = max_age

    def verify(self, signature: str | None, timestamp: str | None, body: bytes, *, now: float | None = None) -> bool:
        """True only for a valid signature over a timestamp close to now."""
        if not signature or not timestamp:
            return False
        try:
            sent = float(timestamp)
            raw_signature = bytes.fromhex(signature)
        except ValueError:
            return False
        if not math.isfinite(sent) or abs((time.time() if now is None else now) - sent) > self.max_age:
            return False
        try:
            self._key.verify(timestamp.encode() + body, raw_signature)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True
