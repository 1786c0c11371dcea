"""User records of the store: who may sign in, with which role, and the key that signs their sessions.

Passwords arrive here already hashed (`core.auth` hashes with argon2); the store never sees a password.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from .models import ROLES, Meta, User

SECRET_KEY_META = "session_secret"


class UserRecords:
    """Part of `Store` (mixed in): uses its `session()`."""

    def add_user(self, name: str, role: str, password_hash: str | None = None, replace: bool = False) -> int:
        """Add a user (or, with `replace`, change an existing one's role and password); returns its id.

        Raises:
            ValueError: unknown role, or the user exists and `replace` is false.
        """
        if role not in ROLES:
            raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
        with self.session(write=True) as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is not None and not replace:
                raise ValueError(f"user {name!r} exists already")
            if user is None:
                user = User(name=name, role=role, password_hash=password_hash)
                s.add(user)
            else:
                user.role, user.password_hash = role, password_hash
            s.flush()
            return user.id

    def get_user(self, name: str) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.name == name))

    def list_users(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def count_users(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count(User.id))) or 0)

    def remove_user(self, name: str) -> None:
        """Remove a user; their labels keep their name (events are never rewritten).

        Raises:
            ValueError: no such user, or the last admin (nobody could manage users any more).
        """
        with self.session(write=True) as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                raise ValueError(f"user {name!r}: no such user")
            if user.role == "admin":
                admins = s.scalar(select(func.count(User.id)).where(User.role == "admin"))
                if admins <= 1:
                    raise ValueError(f"user {name!r} is the last admin; add another admin first")
            s.delete(user)

    def session_secret(self) -> str:
        """The workspace's random key for signing session cookies, made on first use and shared by every server
        of the workspace (so a second app server accepts the same sign-in)."""
        with self.session() as s:
            value = s.scalar(select(Meta.value).where(Meta.key == SECRET_KEY_META))
        if value:
            return value
        with self.session(write=True) as s:
            value = s.scalar(select(Meta.value).where(Meta.key == SECRET_KEY_META))  # another server was first
            if not value:
                value = secrets.token_hex(32)
                s.add(Meta(key=SECRET_KEY_META, value=value))
            return value
