"""Staff accounts: Argon2 password hashes checked for strength, roles, revocable sessions,
and sign-in attempts counted per client and name."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, case, delete, insert, select, update
from zxcvbn import zxcvbn

from portal import limits
from portal.catalog import models
from portal.catalog.audit import record_action
from portal.catalog.db import STAFF_WAIT_SECONDS, upsert, writing
from portal.errors import Conflict, InvalidInput, NotFound, PortalError, msg

log = logging.getLogger(__name__)

ROLES = models.ROLES
NAME = limits.USER_NAME
MIN_PASSWORD = limits.MIN_PASSWORD
MAX_PASSWORD = limits.MAX_PASSWORD
MIN_STRENGTH = 3  # zxcvbn score 0-4: 3 means "safely unguessable" by an online attack

WRONG = msg("Wrong name or password.")
_hasher = PasswordHasher()
# A hash to verify against when the name is unknown, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not a real password, only a timing equaliser")


class AccountError(InvalidInput):
    """A request about accounts that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    library: str | None
    disabled: bool


def _user(row) -> User:
    return User(row.id, row.name, row.role, row.library, bool(row.disabled))


# Words anyone guessing a password here would try first.
SITE_WORDS = ("karabakh", "qarabag", "qarabağ", "kitab", "kitabxana", "library", "portal")


def _check_password(password: str, name: str = "") -> None:
    """Long enough, and not easy to guess (zxcvbn's estimate, which knows common passwords,
    keyboard patterns, repeats and the user's own name)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            msg(
                "A password needs %(low)s to %(high)s characters.",
                low=MIN_PASSWORD,
                high=MAX_PASSWORD,
            )
        )
    strength = zxcvbn(password[:100], user_inputs=[name, *SITE_WORDS])
    if not password.strip() or strength["score"] < MIN_STRENGTH:
        raise AccountError(
            msg(
                "This password is too easy to guess; use several unusual words, or a longer "
                "mix of letters, digits and signs."
            )
        )


def add_user(
    engine: Engine, name: str, password: str, role: str, library: str | None, actor: str = "cli"
) -> User:
    if not NAME.fullmatch(name):
        raise AccountError(msg("A user name is 2-80 letters, digits, '.', '_' or '-'."))
    if role not in ROLES:
        raise AccountError(msg("The role must be one of %(roles)s.", roles=", ".join(ROLES)))
    if role == "librarian" and not library:
        raise AccountError(msg("A librarian needs a library (--library CODE)."))
    if role != "librarian":
        library = None
    _check_password(password, name)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        existing = conn.execute(
            select(models.users.c.disabled).where(models.users.c.name == name)
        ).first()
        if existing is not None and existing.disabled:
            raise Conflict(
                msg(
                    "A disabled account named %(name)s exists; enable it again "
                    "(portal user enable %(name)s) instead.",
                    name=name,
                )
            )
        if existing is not None:
            raise Conflict(msg("A user named %(name)s already exists.", name=name))
        if (
            library
            and not conn.execute(
                select(models.libraries.c.code).where(models.libraries.c.code == library)
            ).first()
        ):
            raise AccountError(msg("There is no library %(value)s.", value=library))
        user_id = conn.execute(
            insert(models.users).values(
                name=name,
                password_hash=_hasher.hash(password),
                role=role,
                library=library,
                disabled=0,
                created_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
        record_action(
            conn,
            actor,
            "user.add",
            f"user {name}",
            library,
            after={"name": name, "role": role, "library": library},
        )
    return User(user_id, name, role, library, False)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(select(models.users).order_by(models.users.c.name))
        return [_user(row) for row in rows]


def get_user(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(models.users).where(models.users.c.id == user_id)).first()
    return _user(row) if row else None


def set_disabled(engine: Engine, name: str, disabled: bool, actor: str = "cli") -> None:
    """Disable an account (its sessions end at once) or enable it again."""
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        row = conn.execute(select(models.users).where(models.users.c.name == name)).first()
        if row is None:
            raise NotFound(msg("There is no user %(name)s.", name=name))
        conn.execute(
            update(models.users).where(models.users.c.id == row.id).values(disabled=int(disabled))
        )
        if disabled:
            _end_sessions(conn, row.id)
        record_action(
            conn,
            actor,
            "user.disable" if disabled else "user.enable",
            f"user {name}",
            row.library,
            before={"disabled": bool(row.disabled)},
            after={"disabled": disabled},
        )


def disable_user(engine: Engine, name: str, actor: str = "cli") -> None:
    set_disabled(engine, name, True, actor)


def enable_user(engine: Engine, name: str, actor: str = "cli") -> None:
    set_disabled(engine, name, False, actor)


def set_password(engine: Engine, name: str, password: str, actor: str = "cli") -> None:
    """A new password; every session of the account ends (a copied cookie included)."""
    _check_password(password, name)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        row = conn.execute(select(models.users.c.id).where(models.users.c.name == name)).first()
        if row is None:
            raise NotFound(msg("There is no user %(name)s.", name=name))
        conn.execute(
            update(models.users)
            .where(models.users.c.id == row.id)
            .values(password_hash=_hasher.hash(password))
        )
        _end_sessions(conn, row.id)
        record_action(conn, actor, "user.password", f"user {name}", None)


# --- sessions -----------------------------------------------------------------------------

SESSION_LIFETIME = timedelta(hours=8)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(engine: Engine, user: User) -> str:
    """A new session for a signed-in user; returns its id (the cookie keeps it, the
    database only its hash)."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        conn.execute(
            insert(models.sessions).values(
                id_hash=_hash(session_id), user_id=user.id, created_at=now, seen_at=now
            )
        )
        conn.execute(  # ended and expired sessions are kept a day, for the audit trail
            delete(models.sessions).where(
                models.sessions.c.created_at < now - SESSION_LIFETIME - timedelta(days=1)
            )
        )
    return session_id


def session_user(engine: Engine, session_id: object) -> User | None:
    """The user of a live session: not ended, not older than SESSION_LIFETIME, and the
    account not disabled."""
    if not isinstance(session_id, str) or not session_id:
        return None
    s, u = models.sessions, models.users
    with engine.connect() as conn:
        row = conn.execute(
            select(u, s.c.created_at, s.c.ended_at)
            .join(s, s.c.user_id == u.c.id)
            .where(s.c.id_hash == _hash(session_id))
        ).first()
    if row is None or row.ended_at is not None or row.disabled:
        return None
    if datetime.now(UTC) - row.created_at > SESSION_LIFETIME:
        return None
    return _user(row)


def end_session(engine: Engine, session_id: object) -> None:
    if not isinstance(session_id, str):
        return
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        conn.execute(
            update(models.sessions)
            .where(models.sessions.c.id_hash == _hash(session_id))
            .values(ended_at=datetime.now(UTC))
        )


def _end_sessions(conn, user_id: int) -> None:
    conn.execute(
        update(models.sessions)
        .where(models.sessions.c.user_id == user_id, models.sessions.c.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC))
    )


class SignInRefused(PortalError):
    """Wrong name or password, disabled, or too many attempts: the message is safe to show
    (it is the same for a name that does not exist)."""

    status = 401


# Attempts are counted before the password is checked (a burst of parallel tries cannot
# slip past the count), per client and name and per client; nothing locks an account
# itself, so a stranger cannot lock staff out: only their own client is slowed.
THROTTLE_WINDOW = timedelta(minutes=15)
ATTEMPTS_PER_NAME = 5  # from one client, for one name (a success starts the count afresh)
ATTEMPTS_PER_CLIENT = 30  # from one client, for any names
TOO_MANY = msg("Too many sign-in attempts from here; try again in 15 minutes.")


def _count_attempt(conn, key: str, now: datetime) -> int:
    """One more attempt under `key` (a window older than THROTTLE_WINDOW starts again);
    returns the attempts in the window, counted atomically by the database."""
    table = models.sign_in_failures
    stale = table.c.since < now - THROTTLE_WINDOW
    statement = (
        upsert(conn, table)
        .values(key=key, failures=1, since=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "since": case((stale, now), else_=table.c.since),
            },
        )
        .returning(table.c.failures)
    )
    return conn.execute(statement).scalar_one()


def _throttle_keys(client: str, name: str) -> tuple[str, str]:
    return f"client:{client}"[:300], f"name:{client}:{name.casefold()}"[:300]


def authenticate(
    engine: Engine, name: str, password: str, client: str = "local", now: datetime | None = None
) -> User:
    """The user, if name and password are right and the account is usable. Unknown names
    take as long and answer the same as real ones."""
    now = now or datetime.now(UTC)
    name = name[:80]
    per_client, per_name = _throttle_keys(client, name)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        over = (
            _count_attempt(conn, per_client, now) > ATTEMPTS_PER_CLIENT,
            _count_attempt(conn, per_name, now) > ATTEMPTS_PER_NAME,
        )
    if any(over):
        log.warning("sign-in attempts over the limit from %s (name %r)", client, name)
        raise SignInRefused(TOO_MANY)  # before any hashing: a flood costs no Argon2 work
    with engine.connect() as conn:
        row = conn.execute(select(models.users).where(models.users.c.name == name)).first()
    right = _verify_quietly(row.password_hash if row else _DUMMY_HASH, password)
    if row is None or not right or row.disabled:
        raise SignInRefused(WRONG)
    failures = models.sign_in_failures
    with writing(engine, STAFF_WAIT_SECONDS) as conn:  # only failures stay counted
        conn.execute(delete(failures).where(failures.c.key == per_name))
        conn.execute(
            update(failures)
            .where(failures.c.key == per_client, failures.c.failures > 0)
            .values(failures=failures.c.failures - 1)
        )
    return _user(row)


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False
