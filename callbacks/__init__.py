"""Thin adapters between Dash and core: one module per tab, each with `register(app, services)`."""

from . import evaluate, explore, generate, jobs, label, media, train

TAB_MODULES = (media, explore, label, generate, train, evaluate, jobs)


def register_all(app, services) -> None:
    for module in TAB_MODULES:
        module.register(app, services)


def start_warm_up() -> None:
    """Compile the map's numba code in a daemon thread, so background map jobs forked later start warm."""
    import threading

    def _run():
        from core.embed.projection import warm_up

        warm_up()

    threading.Thread(target=_run, name="scatterloop-warm-up", daemon=True).start()
