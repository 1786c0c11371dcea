"""Thin adapters between Dash and core: one module per tab, each with `register(app, services)`."""

from . import explore, jobs, label, media

TAB_MODULES = (media, explore, label, jobs)


def register_all(app, services) -> None:
    for module in TAB_MODULES:
        module.register(app, services)
