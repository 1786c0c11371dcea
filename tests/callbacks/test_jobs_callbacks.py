"""Jobs tab: every unfinished run has its own Cancel button, and a click cancels that run only."""

from __future__ import annotations

import json

from dash._callback_context import context_value
from dash._utils import AttributeDict

from scatterloop.callbacks import jobs, jobs_cancel
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard import ids

from .test_explore_callbacks import _Recorder


def test_the_jobs_tab_cancels_the_run_clicked_and_no_other(settings):
    services = make_services(settings)
    store = services.store
    mine, other, finished = (store.create_run("classify", {}) for _ in range(3))
    store.update_run(finished, status="done")
    table = str(jobs.runs_table(services))
    assert str(ids.jobs_cancel_button(mine)["run"]) in table and table.count("Cancel") == 2  # unfinished only

    app = _Recorder()
    jobs_cancel.register(app, services)
    [cancel] = [
        fn
        for deps, _, fn in app.callbacks
        if any(getattr(d, "component_id", None) == ids.JOBS_CANCEL_ALL for d in deps)
    ]
    token = context_value.set(
        AttributeDict(
            triggered_inputs=[
                {"prop_id": json.dumps(ids.jobs_cancel_button(mine), sort_keys=True) + ".n_clicks", "value": 1}
            ]
        )
    )
    try:
        message = cancel([1, None])
    finally:
        context_value.reset(token)
    assert f"Cancel requested for run {mine}." in str(message), message
    assert store.get_run(mine).cancel_requested and not store.get_run(other).cancel_requested
    assert jobs_cancel.cancel(services, finished) == (False, f"Run {finished} had already ended.")


def test_a_job_beyond_the_allowance_is_not_started_and_says_why(settings):
    from dataclasses import replace

    from scatterloop.callbacks import evaluate, explore_map

    services = make_services(replace(settings, max_jobs=1))
    try:
        services.store.create_run("embed", {})  # one active run (no login: the shared allowance)
        line = evaluate.run_evaluation(services, "autoencoder", lambda *_: None)
        assert line.startswith("Not started: ") and "at most 1 at once" in line, line
        line = explore_map.run_map_job(services, "build", "umap", None, 10**7, lambda *_: None, "autoencoder")
        assert "epochs = 1e+07 is outside" in line, line
        assert [r.kind for r in services.store.list_runs()] == ["embed"]  # nothing recorded, nothing run
    finally:
        services.runner.close()
