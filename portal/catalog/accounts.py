"""Staff accounts: Argon2 password hashes, roles, and sign-in throttling with lockout."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from portal import limits
from portal.catalog import models
from portal.catalog.audit import record_action
from portal.catalog.db import STAFF_WAIT_SECONDS, writing
from portal.errors import Conflict, InvalidInput, NotFound, PortalError, msg

ROLES = models.ROLES
NAME = limits.USER_NAME
MIN_PASSWORD = limits.MIN_PASSWORD
MAX_PASSWORD = limits.MAX_PASSWORD
SLOW_AFTER = 3  # failed sign-ins before each further attempt is slowed down
LOCK_AFTER = 6  # failed sign-ins before the account is locked
LOCK_FOR = timedelta(minutes=15)
SLOWDOWN_SECONDS = 1.0

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


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            msg(
                "A password needs %(low)s to %(high)s characters.",
                low=MIN_PASSWORD,
                high=MAX_PASSWORD,
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
    _check_password(password)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        if conn.execute(select(models.users.c.id).where(models.users.c.name == name)).first():
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
                failed_sign_ins=0,
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


def disable_user(engine: Engine, name: str, actor: str = "cli") -> None:
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        changed = conn.execute(
            update(models.users).where(models.users.c.name == name).values(disabled=1)
        ).rowcount
        if not changed:
            raise NotFound(msg("There is no user %(name)s.", name=name))
        record_action(
            conn,
            actor,
            "user.disable",
            f"user {name}",
            None,
            before={"disabled": False},
            after={"disabled": True},
        )


def set_password(engine: Engine, name: str, password: str, actor: str = "cli") -> None:
    _check_password(password)
    with writing(engine, STAFF_WAIT_SECONDS) as conn:
        changed = conn.execute(
            update(models.users)
            .where(models.users.c.name == name)
            .values(password_hash=_hasher.hash(password), failed_sign_ins=0, locked_until=None)
        ).rowcount
        if not changed:
            raise NotFound(msg("There is no user %(name)s.", name=name))
        record_action(conn, actor, "user.password", f"user {name}", None)


class SignInRefused(PortalError):
    """Wrong name or password, disabled, or locked: the message is safe to show."""

    status = 401


def authenticate(engine: Engine, name: str, password: str, now: datetime | None = None) -> User:
    """The user, if name and password are right and the account is usable.

    After SLOW_AFTER failures each attempt waits a little longer; after LOCK_AFTER the
    account is locked for LOCK_FOR, even for the right password.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        row = conn.execute(select(models.users).where(models.users.c.name == name[:80])).first()
    if row is None:
        _verify_quietly(_DUMMY_HASH, password)
        raise SignInRefused(WRONG)
    locked_until = row.locked_until.replace(tzinfo=UTC) if row.locked_until else None
    if locked_until and locked_until > now:
        raise SignInRefused(msg("Too many failed attempts; try again later."))
    if row.failed_sign_ins >= SLOW_AFTER:
        time.sleep(SLOWDOWN_SECONDS * (row.failed_sign_ins - SLOW_AFTER + 1))
    if not _verify_quietly(row.password_hash, password) or row.disabled:
        failures = row.failed_sign_ins + 1
        values = {"failed_sign_ins": failures}
        if failures >= LOCK_AFTER:
            values = {"failed_sign_ins": 0, "locked_until": now + LOCK_FOR}
        with writing(engine, STAFF_WAIT_SECONDS) as conn:
            conn.execute(update(models.users).where(models.users.c.id == row.id).values(**values))
            if failures >= LOCK_AFTER:
                record_action(conn, name, "user.locked", f"user {name}", row.library)
        raise SignInRefused(WRONG)
    if row.failed_sign_ins or row.locked_until:
        with writing(engine, STAFF_WAIT_SECONDS) as conn:
            conn.execute(
                update(models.users)
                .where(models.users.c.id == row.id)
                .values(failed_sign_ins=0, locked_until=None)
            )
    return _user(row)


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False
