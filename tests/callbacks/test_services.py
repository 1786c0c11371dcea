"""The background-callback manager: diskcache in the workspace by default, Celery when a broker is set."""

from __future__ import annotations

from dash import CeleryManager, DiskcacheManager

from callbacks.services import make_background_manager, make_services


def test_diskcache_by_default(settings):
    services = make_services(settings)
    assert isinstance(services.background_manager, DiskcacheManager)
    assert (services.workspace.cache / "dash-background").is_dir()


def test_celery_when_broker_url_is_set(settings, workspace):
    manager = make_background_manager(settings.with_(broker_url="redis://127.0.0.1:6379/0"), workspace)
    assert isinstance(manager, CeleryManager)
    assert manager.handle.conf.broker_url == "redis://127.0.0.1:6379/0"
