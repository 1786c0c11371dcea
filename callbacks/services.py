"""What callbacks are given: the open workspace, the settings, and the background-callback manager."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from core.workspace import Workspace


@dataclass
class Services:
    settings: Settings
    workspace: Workspace
    background_manager: Any

    @property
    def store(self):
        return self.workspace.store


def make_background_manager(settings: Settings, workspace: Workspace):
    """DiskcacheManager in the workspace cache by default; CeleryManager when a broker URL is configured."""
    if settings.broker_url:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery("scatterloop", broker=settings.broker_url, backend=settings.broker_url)
        return CeleryManager(celery_app)
    import diskcache
    from dash import DiskcacheManager

    return DiskcacheManager(diskcache.Cache(str(workspace.cache / "dash-background")))


def make_services(settings: Settings) -> Services:
    ws = Workspace.open(settings)
    return Services(settings=settings, workspace=ws, background_manager=make_background_manager(settings, ws))


def job_process(fn):
    """For the body of a background callback, which runs in a forked job process (or a Celery worker): give
    the job the machine's OpenMP threads, which the server itself keeps at one (see `core.threads`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from core.threads import enter_job_process

        enter_job_process()
        return fn(*args, **kwargs)

    return wrapper
