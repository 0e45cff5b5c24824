"""Who may do what: the one permission check every staff action and page goes through.

Roles (least privilege):
- a librarian sees and changes the holdings of their own library, and its audit entries;
- a coordinator changes every library's holdings, imports donation files, corrects records
  and library settings, and reads the whole audit log;
- an administrator manages accounts and reads the audit log; they change no holdings.
"""

from __future__ import annotations

from portal.catalog.accounts import User
from portal.errors import Forbidden, msg

ACTIONS = (
    "holdings.view",
    "holdings.edit",
    "records.edit",
    "libraries.edit",
    "imports.run",
    "users.manage",
    "audit.view",
)


def can(user: User | None, action: str, library: str | None = None) -> bool:
    """True if `user` may do `action` (on `library`, for actions about one library)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")  # a programming error, not a user's
    if user is None or user.disabled:
        return False
    if action in ("holdings.view", "holdings.edit"):
        return user.role == "coordinator" or (
            user.role == "librarian" and library is not None and library == user.library
        )
    if action in ("records.edit", "libraries.edit", "imports.run"):
        return user.role == "coordinator"
    if action == "users.manage":
        return user.role == "admin"
    # audit.view: a librarian reads their own library's entries only
    return user.role != "librarian" or (library is not None and library == user.library)


def require(user: User | None, action: str, library: str | None = None) -> None:
    """Raise Forbidden unless `user` may do `action`."""
    if not can(user, action, library):
        raise Forbidden(msg("Your account may not do this."))
