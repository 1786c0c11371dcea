"""Who may do what when login is on: identities, argon2 password hashes, and the role checks.

Login is off by default (a laptop): then there is one local user who may do everything, written `None` below.
With login on, a person is an `Identity` (name and role, from the workspace's users table, or named by a
trusted proxy). Roles, from least to most:

* `viewer` looks: browses, explores, reads results; cannot label or start jobs.
* `annotator` also labels (as themselves: the annotator is their name) and starts and cancels their own jobs.
* `admin` also cancels anybody's jobs and manages users.

The checks are plain functions of (identity, record) so the web layer, the CLI and any runner ask the same
question the same way.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .store import ROLES, Run, Store
from .store.undo import ANNOTATOR_MAX, PERSON_MAX

log = logging.getLogger(__name__)

Role = Literal["viewer", "annotator", "admin"]
MIN_PASSWORD = 8
MAX_NAME = PERSON_MAX  # a user labels under their name: room is kept for the pre-labels they accept
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
_DUMMY_HASH = _HASHER.hash("scatterloop: equalises the time of a sign-in with an unknown name")


@dataclass(frozen=True)
class Identity:
    """A signed-in person."""

    name: str
    role: Role


def check_name(name: str, limit: int = MAX_NAME) -> str:
    """A user name as stored: stripped, 1-100 printable characters (`limit`: a name already stored may be
    longer, up to the column's 128, from before names kept room for a pre-label's threshold).

    Raises:
        ValueError: empty, too long, or holding control characters.
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("user name: must not be empty")
    if len(name) > limit:
        raise ValueError(f"user name: at most {limit} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError("user name: control characters are not allowed")
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    return role  # type: ignore[return-value]


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salted; verify with `verify_password`).

    Raises:
        ValueError: shorter than `MIN_PASSWORD` characters.
    """
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (a user without a hash cannot sign in with a password)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password or "") and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def add_user(store: Store, name: str, role: str, password: str | None = None, replace: bool = False) -> Identity:
    """Create (or with `replace` update) a user; `password=None` makes a user only a proxy can name."""
    name, role = check_name(name), check_role(role)
    store.add_user(name, role, hash_password(password) if password is not None else None, replace=replace)
    return Identity(name, role)


def authenticate(store: Store, name: str, password: str) -> Identity | None:
    """The identity for a correct name and password, else None (the same work is done for unknown names)."""
    user = store.get_user((name or "").strip())
    if not verify_password(user.password_hash if user else None, password):
        return None
    if _HASHER.check_needs_rehash(user.password_hash):  # parameters raised since it was hashed
        store.add_user(user.name, user.role, _HASHER.hash(password), replace=True)
    return Identity(user.name, user.role)


def identify(store: Store, name: str) -> Identity | None:
    """The identity of a known user, by name (a session's user id, or a name a trusted proxy passed on)."""
    user = store.get_user(name)
    return Identity(user.name, user.role) if user else None


def proxy_identity(store: Store, name: str) -> Identity | None:
    """A name from the trusted proxy header: a user in the table gets their role; anyone else views only."""
    try:
        name = check_name(name, ANNOTATOR_MAX)  # a user stored before the 100-character rule is still known
    except ValueError:
        return None
    return identify(store, name) or Identity(name, "viewer")


# -------------------------------------------------------------------------------------- permissions
def can_label(user: Identity | None) -> bool:
    return user is None or user.role in ("annotator", "admin")


def can_start_jobs(user: Identity | None) -> bool:
    return user is None or user.role in ("annotator", "admin")


def can_manage_users(user: Identity | None) -> bool:
    return user is None or user.role == "admin"


def can_cancel(user: Identity | None, run: Run) -> bool:
    """Admins cancel any run; annotators only the runs they started; viewers none. Runs started before login
    was on (no `started_by`) are everybody's and nobody's: only an admin may cancel them."""
    if user is None or user.role == "admin":
        return True
    return user.role == "annotator" and run.started_by is not None and run.started_by == user.name


def cancel_run(store: Store, user: Identity | None, run_id: int) -> bool:
    """Ask one run to stop at its next check, if `user` may; returns whether a cancel was requested (False: the
    run had already finished).

    Raises:
        ValueError: no such run.
        PermissionError: `user` may not cancel it (one line naming the run and its owner).
    """
    run = store.get_run(int(run_id))
    if run is None:
        raise ValueError(f"run {run_id}: no such run")
    if not can_cancel(user, run):
        owner = run.started_by or "nobody (started without login)"
        raise PermissionError(f"run {run.id} was started by {owner}; only an admin may cancel it")
    if not store.cancel_run(run.id):  # a queued run, or one gone silent, ends at once (`Store.cancel_run`)
        return False
    log.info("run %d: cancel requested by %s", run.id, user.name if user else "the local user")
    return True
