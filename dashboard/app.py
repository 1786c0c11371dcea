"""The Dash application factory."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from callbacks import register_all, start_warm_up
from callbacks.services import Services, make_services
from callbacks.train import DEFAULT_MODELS, model_choices
from core.config import Settings

from . import layout
from .safety import callback_error, install_security_headers

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def create_app(settings: Settings, services: Services | None = None, warm_up: bool = False) -> Dash:
    """Build the app for one workspace; every callback is registered on this app only."""
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
    app.layout = layout.build(settings.labels, services.workspace.root.name, model_choices(), DEFAULT_MODELS)
    register_all(app, services)
    install_security_headers(app)
    if warm_up:
        start_warm_up()
    app.server.config["SCATTERLOOP_SERVICES"] = services
    return app
