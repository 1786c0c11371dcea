"""Who is asking, for callbacks: the signed-in identity when login is on, None (the local user) when it is off."""

from __future__ import annotations

from scatterloop.core.auth import Identity

from .services import Services


def current_identity(services: Services) -> Identity | None:
    """The signed-in person of this request; None when login is off (a laptop: the local user may do anything).

    Raises:
        PermissionError: login is on and nobody is signed in (the server's gate normally answers first).
    """
    if services.settings.login == "none":
        return None
    import flask
    from flask_login import current_user

    if not flask.has_request_context() or not current_user.is_authenticated:
        raise PermissionError("sign in first")
    return current_user.identity


def current_user_name(services: Services) -> str | None:
    """The name to record as a run's `user` (who started it), None when login is off."""
    who = current_identity(services)
    return who.name if who else None
