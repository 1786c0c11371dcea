"""Thin adapters between Dash and core: one module per tab, each with `register(app, services)`."""

from . import evaluate, explore, generate, jobs, jobs_cancel, label, media, search, selection, tabs, train, viewer

TAB_MODULES = (tabs, media, explore, label, generate, train, evaluate, jobs, jobs_cancel, viewer, search, selection)


def register_all(app, services) -> None:
    from .job_watch import register_resume

    for module in TAB_MODULES:
        module.register(app, services)
    register_resume(app, services)  # a reloaded page's job bars take up their running runs
