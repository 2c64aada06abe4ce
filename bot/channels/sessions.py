"""Widget session ids: issued by the server, unguessable, and valid only when this server issued them.

An id is 128 random bits (32 hex characters) followed by the first 128 bits of their HMAC-SHA256 under
the session secret (WEB_SESSION_SECRET; 64 hex characters in all). The widget keeps the id it was given
and asks for it again after a reload; an id the server did not sign (made up, guessed, another channel's)
is replaced by a fresh one. The order service maps each id to a customer (channel "web"), so whoever
holds a valid id is that customer and nobody can pick one.

With no secret configured, each Rasa process draws its own at start: sessions then last as long as the
process and stay with the Rasa server that issued them. Several Rasa servers, or sessions that survive
a restart, need WEB_SESSION_SECRET set to the same value everywhere (docs/channels.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

RANDOM_BYTES = 16  # 128 bits
SIGNATURE_CHARS = 32  # hex characters of the HMAC kept: 128 bits
SESSION_ID = re.compile(rf"^[0-9a-f]{{{2 * RANDOM_BYTES + SIGNATURE_CHARS}}}$")
_PROCESS_SECRET = secrets.token_bytes(32)


class SessionIds:
    def __init__(self, secret: str = "") -> None:
        self._key = secret.encode() if secret else _PROCESS_SECRET

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]

    def issue(self) -> str:
        nonce = secrets.token_hex(RANDOM_BYTES)
        return nonce + self._signature(nonce)

    def valid(self, session_id: object) -> bool:
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            return False
        nonce, signature = session_id[: 2 * RANDOM_BYTES], session_id[2 * RANDOM_BYTES :]
        return hmac.compare_digest(signature, self._signature(nonce))
