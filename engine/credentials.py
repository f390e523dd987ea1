"""Passwords and API tokens. Passwords use scrypt in Werkzeug's hash format (so either side can
check them); tokens are random, stored only as SHA-256 digests, expiring and revocable."""
from __future__ import annotations

import hashlib
import os
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from . import audit, clock
from .models import ApiToken, User

# scrypt work factor as log2(N); the tests lower it through the environment to stay fast.
_N, _R, _P = 2 ** int(os.environ.get("PASSERELLE_PASSWORD_COST", "15")), 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_urlsafe(12)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=_N, r=_R, p=_P, maxmem=132 * _N * _R * _P)
    return f"scrypt:{_N}:{_R}:{_P}${salt}${digest.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    method, salt, expected = stored.split("$")
    try:
        name, n, r, p = method.split(":")
        n, r, p = int(n), int(r), int(p)
    except ValueError:
        return False
    if name != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p)
    return hmac.compare_digest(digest.hex(), expected)


_DUMMY_HASH = None


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, else None (same cost whether the user exists)."""
    global _DUMMY_HASH
    user = session.scalar(select(User).where(User.username == str(username), User.active.is_(True)))
    if user is None or not user.password_hash:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("timing")
        check_password(_DUMMY_HASH, str(password))
        return None
    return user if check_password(user.password_hash, str(password)) else None


def sign_in(session: Session, username: str, password: str, *, via: str, address: str | None) -> User | None:
    """`authenticate`, with the attempt recorded in the audit trail whatever its outcome: the
    user signed in (`user_signed_in`), or `sign_in_failed` under the name given. `via` says
    which door ("web", "api"), `address` the client's address.

    Returns the user, or None: the caller commits either way, for a failed attempt stays on record.
    """
    user = authenticate(session, username, password)
    event = audit.EventType.USER_SIGNED_IN if user is not None else audit.EventType.SIGN_IN_FAILED
    audit.record(session, event, user.username if user is not None else username,
                 data={"via": via, "address": address})
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, hours: int) -> tuple[str, ApiToken]:
    """A new API token for `user`; the plain token is returned once and never stored."""
    plain = secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiToken(user_id=user.id, token_hash=_digest(plain), created_at=now, expires_at=now + timedelta(hours=hours))
    session.add(row)
    session.flush()
    return plain, row


# Every API call asks this: the token and its user in one query, built once (its cache key too).
_TOKEN_WITH_USER = (select(ApiToken).options(joinedload(ApiToken.user, innerjoin=True))
                    .where(ApiToken.token_hash == bindparam("digest")))


def token_row(session: Session, plain: str) -> ApiToken | None:
    """The live token row for `plain` (not expired, not revoked, active user), else None."""
    row = session.scalar(_TOKEN_WITH_USER, {"digest": _digest(plain)})
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now() or not row.user.active:
        return None
    return row


def revoke_token(session: Session, row: ApiToken) -> None:
    row.revoked_at = clock.now()
    session.flush()


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live API token of `user` (signing out everywhere); returns how many."""
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=clock.now()))
    return result.rowcount
