"""Login for shared deployments (off by default), with flask-login.

* `password`: people of the workspace's users table sign in on `/login` (argon2 hashes, `core.auth`); the
  session is Flask's signed cookie (HttpOnly, SameSite=Lax), keyed by the workspace's secret.
* `header`: a trusted reverse proxy (single sign-on) names the user in `Settings.login_header` on every
  request; the users table gives their role, anyone else only views. Only configure this behind a proxy that
  sets (and strips from clients) that header, and bind the app where only the proxy can reach it.

Everything but the sign-in page and the app's static code needs a signed-in user; callback requests are
checked by `dashboard.access` (a viewer cannot label or start jobs) and carry the signed-in name as annotator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import flask
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from scatterloop.core.auth import Identity, authenticate, identify, proxy_identity

from . import access, ids
from .components import login_view

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")  # folders of static code
PUBLIC_PATHS = ("/_favicon.ico", "/healthz")  # these exactly: `/healthzfoo` is the app's page, behind sign-in
LOGIN_PATH = "/login"


class SessionUser(UserMixin):
    """flask-login's view of an `Identity` (its id is the user name)."""

    def __init__(self, identity: Identity):
        self.identity = identity

    def get_id(self) -> str:
        return self.identity.name


def current_identity() -> Identity | None:
    """The signed-in identity of this request, None when nobody is signed in (or outside a request)."""
    if not flask.has_request_context() or not current_user.is_authenticated:
        return None
    return current_user.identity


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`): never an open redirect."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not (target or "/").startswith("/") or (target or "").startswith("//"):
        return "/"
    return target or "/"


def install_login(app, services, build_layout: Callable[[], object]) -> None:
    """Require sign-in on `app` (login `password` or `header`) and serve each person their own page."""
    settings, store = services.settings, services.store
    server = app.server
    server.secret_key = settings.secret_key or store.session_secret()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="scatterloop_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    manager = LoginManager(server)
    manager.session_protection = "strong"

    @manager.user_loader
    def _load(name: str):  # every request: a removed user or a changed role takes effect at once
        who = identify(store, name) if settings.login == "password" else None
        return SessionUser(who) if who else None

    if settings.login == "header":

        @manager.request_loader
        def _from_proxy(request):
            who = proxy_identity(store, request.headers.get(settings.login_header, ""))
            return SessionUser(who) if who else None

    @server.route(LOGIN_PATH, methods=["GET", "POST"])
    def scatterloop_login():
        if settings.login != "password":
            return flask.Response(f"sign in through your site's single sign-on ({settings.login_header})", 401)
        form = flask.request.form
        target = _safe_next(form.get("next") or flask.request.args.get("next"))
        error, name = None, form.get("name", "")
        if flask.request.method == "POST":
            who = authenticate(store, name, form.get("password", ""))
            if who is not None:
                flask.session.clear()  # a fresh session on sign-in
                login_user(SessionUser(who))
                log.info("%s signed in (%s)", who.name, who.role)
                return flask.redirect(target)
            error = "Wrong name or password."
        page = flask.render_template_string(
            login_view.PAGE,
            css=app.get_asset_url("00-bootstrap.min.css"),
            workspace=services.workspace.root.name,
            error=error,
            name=name,
            next=target,
            action=LOGIN_PATH,
        )
        return page, (401 if error else 200)

    @server.route("/logout")
    def scatterloop_logout():
        logout_user()
        flask.session.clear()
        return flask.redirect(LOGIN_PATH)

    @server.before_request
    def _require_sign_in():
        path = flask.request.path
        if path in (LOGIN_PATH, "/logout") or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        who = current_identity()
        if who is None:
            if flask.request.method == "GET" and not path.startswith(("/_dash", "/media")):
                return flask.redirect(f"{LOGIN_PATH}?next={flask.request.full_path.rstrip('?')}")
            return flask.Response("sign in first", 401, mimetype="text/plain")
        if path.endswith("/_dash-update-component") and flask.request.method == "POST":
            body = flask.request.get_json(silent=True)  # parsed once and cached: Dash reads this same object
            if isinstance(body, dict):
                reason = access.refusal(body, who, app.callback_map)
                if reason:
                    said = reason if access.pressed(body, app.callback_map) else None  # a redraw: no banner
                    log.log(logging.WARNING if said else logging.DEBUG, "refused: %s", reason)
                    return flask.jsonify(access.refused_response(said))
                access.sign_as(body, who.name, app.callback_map)
        return None

    def personal_layout():
        tree = build_layout()
        who = current_identity()
        if who is None:  # Dash builds the layout once outside a request to check the callbacks
            return tree
        box = tree[ids.ANNOTATOR_INPUT]
        box.value, box.disabled, box.persistence = who.name, True, False
        box.title = "labels are recorded under your signed-in name"
        for node in tree._traverse():  # the annotator field's input group gets the role badge and sign-out link
            children = getattr(node, "children", None)
            if isinstance(children, list) and any(getattr(c, "id", None) == ids.ANNOTATOR_INPUT for c in children):
                node.children = [*children, login_view.signed_in(who.name, who.role, settings.login == "password")]
                break
        return tree

    app.layout = personal_layout
