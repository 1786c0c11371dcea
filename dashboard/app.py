"""The Dash application factory."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from scatterloop import assets as _assets
from scatterloop.callbacks import register_all
from scatterloop.callbacks.services import Services, make_services
from scatterloop.callbacks.train import DEFAULT_MODELS, model_choices
from scatterloop.core.config import Settings

from . import layout
from .safety import callback_error, install_request_errors, install_security_headers

ASSETS = Path(_assets.__file__).resolve().parent  # the scatterloop.assets package: the same in a wheel and a clone


def create_app(settings: Settings, services: Services | None = None) -> Dash:
    """Build the app for one workspace; every callback is registered on this app only.

    The web layer starts no threads of its own: a background job must never inherit one (a thread holding an
    import lock or an OpenMP pool at the moment of a fork hangs the job). Map jobs compile UMAP's numba code
    in their own process; numba's on-disk cache makes that quick after the first time.
    """
    services = services or make_services(settings)
    app = Dash(
        __name__,
        title="scatterloop",
        assets_folder=str(ASSETS),
        background_callback_manager=services.background_manager,
        suppress_callback_exceptions=False,
        update_title=None,
        on_error=callback_error,
    )
    build = lambda: layout.build(settings.labels, services.workspace.root.name, model_choices(), DEFAULT_MODELS)  # noqa: E731
    app.layout = build()
    register_all(app, services)
    if settings.login != "none":
        from .login import install_login

        install_login(app, services, build)
    install_security_headers(app)
    install_request_errors(app)
    app.server.config["SCATTERLOOP_SERVICES"] = services

    @app.server.route("/healthz")
    def _healthz():  # for container healthchecks: the server answers and its database does (no login needed)
        services.store.count_users()
        return "ok"

    return app
