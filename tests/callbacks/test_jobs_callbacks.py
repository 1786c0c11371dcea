"""Jobs tab: every unfinished run has its own Cancel button, and a click cancels that run only."""

from __future__ import annotations

import json
import re

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
    assert f"Cancel requested for run {mine} (" in str(message), message
    assert store.get_run(mine).cancel_requested and not store.get_run(other).cancel_requested
    requested, said = jobs_cancel.cancel(services, finished)
    assert not requested and said.startswith(f"Run {finished} had already ended (")


def test_a_job_beyond_the_allowance_is_not_started_and_says_why(small_workspace):
    from dataclasses import replace

    from scatterloop.callbacks import evaluate, explore_map

    services = make_services(replace(small_workspace.settings, max_jobs=1))  # frames enough for either job
    try:
        services.store.create_run("embed", {})  # one active run (no login: the shared allowance)
        line = evaluate.run_evaluation(services, "autoencoder", lambda *_: None)
        assert line.startswith("Not started: ") and "at most 1 at once" in line, line
        line = explore_map.run_map_job(services, "build", "umap", None, 10**7, lambda *_: None, "autoencoder")
        assert "epochs = 1e+07 is outside" in line, line
        assert [r.kind for r in services.store.list_runs()] == ["embed"]  # nothing recorded, nothing run
    finally:
        services.runner.close()


def test_a_running_job_shows_its_time_so_far_and_an_estimate_left(settings):
    from datetime import datetime, timedelta, timezone

    services = make_services(settings)
    store = services.store
    running, just_started, finished = (store.create_run("embed", {}) for _ in range(3))
    store.start_run(running)
    store.update_run(running, started_at=datetime.now(timezone.utc) - timedelta(seconds=100), progress=0.25)
    store.start_run(just_started)
    store.update_run(just_started, progress=0.01)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store.update_run(finished, status="done", started_at=start, finished_at=start + timedelta(seconds=65))
    rows = {r["id"]: r["duration"] for r in _rows(jobs.runs_table(services))}
    # 100 s for a quarter of the work: about 300 s left (the test's own seconds may add a few)
    assert re.fullmatch(r"1m 4\ds, ~5m [0-2]\ds left", rows[running]), rows[running]
    assert "left" not in rows[just_started]  # 1 %: too early for an estimate
    assert rows[finished] == "1m 05s"


def _rows(table) -> list[dict]:
    """The Jobs table's rows as {id, duration} (its first and eighth cells)."""
    out = []
    for tr in table.children[1].children:
        cells = tr.children
        out.append({"id": cells[0].children, "duration": cells[7].children})
    return out
