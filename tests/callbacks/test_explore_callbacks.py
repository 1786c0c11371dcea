"""Explore tab callbacks as plain functions: the feature-source dropdown reaches the map build, and the
map's separation figure is shown beside it."""

from __future__ import annotations

import os

from dash import Input, State
from dash._callback_context import context_value
from dash._utils import AttributeDict, stringify_id

from scatterloop.callbacks import explore
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard import ids


class _Recorder:
    """Stands in for the Dash app: keeps each registered function with its dependencies, in order."""

    def __init__(self):
        self.callbacks = []

    def callback(self, *deps, **kwargs):
        def keep(fn):
            self.callbacks.append((deps, kwargs, fn))
            return fn

        return keep

    def clientside_callback(self, function, *deps, **kwargs):
        self.callbacks.append((deps, kwargs, function))


def test_features_dropdown_reaches_the_build_params_and_separation_is_shown(small_workspace):
    ws = small_workspace
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if (img.truth or {}).get("realistic") else "fake", "oracle")
    services = make_services(ws.settings)
    values = [o["value"] for o in explore.feature_choices(services)]
    assert values[:2] == ["autoencoder", "physics"]

    app = _Recorder()
    explore.register(app, services)
    [(deps, _, job)] = [c for c in app.callbacks if State(ids.EXPLORE_FEATURES_SELECT, "value") in c[0]]
    given = {
        ids.EXPLORE_BUILD_BUTTON: 1,
        ids.EXPLORE_METHOD_RADIO: "pca",
        ids.EXPLORE_SEED_INPUT: 0,
        ids.EXPLORE_EPOCHS_INPUT: 1,
        ids.EXPLORE_FEATURES_SELECT: "physics",
        ids.EXPLORE_VERSION_STORE: 3,
    }
    # a dict id (the page load's take-up store) gets nothing: this is a click
    args = [given.get(d.component_id) if isinstance(d.component_id, str) else None for d in deps]
    args = [a for a, d in zip(args, deps, strict=True) if isinstance(d, (Input, State))]
    context = AttributeDict(
        triggered_inputs=[{"prop_id": f"{ids.EXPLORE_BUILD_BUTTON}.n_clicks", "value": 1}], updated_props={}
    )
    token = context_value.set(context)
    try:
        message, version = job(lambda _p: None, *args)  # records the run, a spawned worker runs it
    finally:
        context_value.reset(token)
    assert "from physics features" in message and version == 4
    run = ws.store.latest_map_run()
    assert run.params["features"] == "physics" and run.params["method"] == "pca"
    assert run.pid != os.getpid(), "the job ran in a worker process, not in the server"
    # the page learns which run its progress bar (and so its Cancel button) follows
    assert context.updated_props[stringify_id(ids.job_run(ids.EXPLORE_PROGRESS))] == {"data": run.id}
    panel = str(explore.separation_panel(services, run.id))
    assert "Separation in this map (physics)" in panel and "pattern:" in panel and "of 12" in panel
    assert "Separation" not in str(explore.separation_panel(services, None))  # no map chosen: nothing to say
    failed = explore.run_map_job(services, "build", "pca", 0, 1, lambda *a: None, "classifier:x")
    assert "could not run" in failed and "classifier:<run id>" in failed, failed  # shown where it was started
