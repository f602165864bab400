"""API keys: ``drugforge keys create|list|revoke`` and the server's check of ``Bearer KEY``.

A key is ``df_<id>_<secret>`` (32 random bytes, URL-safe); the store keeps its SHA-256 only, so
a leaked database gives no key. ``create`` prints the key once; ``revoke`` stops it at once (the
server looks keys up per request).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from drugforge.api.db import Database, keys, now
from drugforge.core.errors import InputError

__all__ = ["KeyInfo", "KeyStore"]


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    created: float
    revoked: float | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The keys of one store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str) -> tuple[str, str]:
        """A new key for ``name``: ``(key_id, key)``; the key is shown this once."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InputError("a key needs a name of 1 to 200 characters (--name)")
        key_id = "k" + secrets.token_hex(6)
        key = f"df_{key_id}_{secrets.token_urlsafe(32)}"
        with self.db.engine.begin() as conn:
            conn.execute(keys.insert().values(id=key_id, name=name, hash=_digest(key),
                                              created=now(), revoked=None))  # fmt: skip
        return key_id, key

    def all(self) -> list[KeyInfo]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(keys.c.id, keys.c.name, keys.c.created, keys.c.revoked)
                                .order_by(keys.c.created)).all()  # fmt: skip
        return [KeyInfo(r.id, r.name, r.created, r.revoked) for r in rows]

    def revoke(self, key_id: str) -> KeyInfo:
        """Revoke ``key_id`` (an id from :meth:`all`); revoking twice keeps the first time."""
        with self.db.engine.begin() as conn:
            conn.execute(update(keys).where(keys.c.id == key_id, keys.c.revoked.is_(None))
                         .values(revoked=now()))  # fmt: skip
            row = conn.execute(select(keys).where(keys.c.id == key_id)).first()
        if row is None:
            raise InputError(f"no key with id '{key_id}' (see 'drugforge keys list')")
        return KeyInfo(row.id, row.name, row.created, row.revoked)

    def check(self, key: str) -> KeyInfo | None:
        """The active key ``key`` is, or None (unknown or revoked)."""
        if not key.startswith("df_") or len(key) > 200:
            return None
        with self.db.engine.connect() as conn:
            row = conn.execute(select(keys).where(keys.c.hash == _digest(key))).first()
        if row is None or row.revoked is not None:
            return None
        return KeyInfo(row.id, row.name, row.created, row.revoked)
