"""Widget session ids: issued by the server, unguessable, and valid only when this server issued them.

An id is 128 random bits (32 hex characters) followed by the first 128 bits of their HMAC-SHA256 under
the session secret (WEB_SESSION_SECRET; 64 hex characters in all). The widget keeps the id it was given
and asks for it again after a reload; an id the server did not sign (made up, guessed, another channel's)
is replaced by a fresh one. The order service maps each id to a customer (channel "web"), so whoever
holds a valid id is that customer and nobody can pick one.

With no secret configured, a random key is drawn once and kept under $STATE_DIR/secrets (readable by
the owner only), so sessions survive a restart of the Rasa server and are shared by the Rasa processes
of one machine. Rasa servers on several machines need WEB_SESSION_SECRET set to the same value
everywhere (docs/channels.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

RANDOM_BYTES = 16  # 128 bits
SIGNATURE_CHARS = 32  # hex characters of the HMAC kept: 128 bits
SESSION_ID = re.compile(rf"^[0-9a-f]{{{2 * RANDOM_BYTES + SIGNATURE_CHARS}}}$")
KEY_FILE = "web_session.key"


def _state_dir() -> Path:
    """STATE_DIR with daogou/config.py's default: the Rasa environment has pydantic 1 and cannot import
    daogou.config, so this one setting is read here the same way."""
    return Path(os.environ.get("STATE_DIR") or Path(__file__).resolve().parents[2] / "var")


def kept_secret() -> bytes:
    """The machine's session key under $STATE_DIR/secrets, drawn by whichever process needs it first
    (written to a private temporary file, then linked into place: a second writer keeps the first key)."""
    path = _state_dir() / "secrets" / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
        finally:
            os.close(fd)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()


class SessionIds:
    def __init__(self, secret: str = "") -> None:
        self._secret = secret.encode() if secret else None

    @property
    def _key(self) -> bytes:
        if self._secret is None:  # read on first use, not at import
            self._secret = kept_secret()
        return self._secret

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
