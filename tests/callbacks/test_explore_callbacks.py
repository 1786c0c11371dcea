"""Explore tab callbacks as plain functions: the feature-source dropdown reaches the map build, and the
map's separation figure is shown beside it."""

from __future__ import annotations

import pytest
from dash import Input, State
from dash._callback_context import context_value
from dash._utils import AttributeDict

from callbacks import explore
from callbacks.services import make_services
from dashboard import ids


class _Recorder:
    """Stands in for the Dash app: keeps each registered function with its dependencies, in order."""

    def __init__(self):
        self.callbacks = []

    def callback(self, *deps, **kwargs):
        def keep(fn):
            self.callbacks.append((deps, kwargs, fn))
            return fn

        return keep


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
    args = [given.get(d.component_id) for d in deps if isinstance(d, (Input, State))]
    token = context_value.set(
        AttributeDict(triggered_inputs=[{"prop_id": f"{ids.EXPLORE_BUILD_BUTTON}.n_clicks", "value": 1}])
    )
    try:
        message, version = job.__wrapped__(lambda _p: None, *args)  # past job_process: no thread settings here
    finally:
        context_value.reset(token)
    assert "from physics features" in message and version == 4
    run = ws.store.latest_map_run()
    assert run.params["features"] == "physics" and run.params["method"] == "pca"
    panel = str(explore.separation_panel(services, run.id))
    assert "Separation in this map (physics)" in panel and "pattern:" in panel and "of 12" in panel
    assert "Separation" not in str(explore.separation_panel(services, None))  # no map chosen: nothing to say
    with pytest.raises(ValueError, match="classifier:<run id>"):  # refused before any work
        explore.run_map_job(services, "build", "pca", 0, 1, lambda *a: None, "classifier:x")
