"""The status line beside every job's bar speaks of the current run: the click that starts a job replaces it in
the browser at once, the line then names the run that `launch` binds the bar to, and a line that only said what
was missing is cleared when the job that supplies it starts."""

from __future__ import annotations

import json

from scatterloop.callbacks import generate, job_watch, train, train_review
from scatterloop.callbacks.job_status import started_line
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app

# (the button that starts a job, the status line beside that job's bar, the bar)
STARTS = [
    (ids.GEN_TRAIN_BUTTON, ids.GEN_TRAIN_STATUS, ids.GEN_TRAIN_PROGRESS),
    (ids.GEN_RUN_BUTTON, ids.GEN_STATUS, ids.GEN_PROGRESS),
    (ids.TRAIN_RUN_BUTTON, ids.TRAIN_STATUS, ids.TRAIN_PROGRESS),
    (ids.TRAIN_PREDICT_BUTTON, ids.TRAIN_REVIEW_STATUS, ids.TRAIN_PREDICT_PROGRESS),
    (ids.EXPLORE_BUILD_BUTTON, ids.EXPLORE_JOB_STATUS, ids.EXPLORE_PROGRESS),
    (ids.EXPLORE_RELAYOUT_BUTTON, ids.EXPLORE_JOB_STATUS, ids.EXPLORE_PROGRESS),
    (ids.EXPLORE_PLACE_BUTTON, ids.EXPLORE_JOB_STATUS, ids.EXPLORE_PROGRESS),
    (ids.EXPLORE_SYMMETRY_BUTTON, ids.EXPLORE_JOB_STATUS, ids.EXPLORE_PROGRESS),
    (ids.EVAL_RUN_BUTTON, ids.EVAL_STATUS, ids.EVAL_PROGRESS),
]


def _clientside(app) -> list[tuple[str, set[str], str]]:
    """(output id, input ids, input property) of every clientside callback writing a status line's text."""
    found = []
    for c in app._callback_list:
        if c.get("clientside_function") and ".children@" in c["output"]:
            out = c["output"].split(".children@")[0]
            found += [(out, i["id"], i["property"]) for i in c["inputs"]]
    return found


def test_every_job_button_replaces_its_status_line_and_names_the_run(settings):
    app = create_app(settings)
    wired = _clientside(app)
    for button, status, bar in STARTS:
        assert (status, button, "n_clicks") in wired, (button, status)
        run_store = json.dumps(ids.job_run(bar), sort_keys=True, separators=(",", ":"))
        assert (status, run_store, "data") in wired, (bar, status)
    # a line that said a model (a round) was missing goes when the job that makes one starts
    assert (ids.GEN_STATUS, ids.GEN_TRAIN_BUTTON, "n_clicks") in wired
    assert (ids.TRAIN_REVIEW_STATUS, ids.TRAIN_RUN_BUTTON, "n_clicks") in wired
    scripts = "\n".join(app._inline_scripts)
    assert json.dumps(generate.NO_MODEL) in scripts and json.dumps(train.NO_ROUND) in scripts
    assert json.dumps(started_line("{run}", "generator training")) in scripts


class _Runner:
    """Takes the run without running it: what is tested is what the page is told."""

    def __init__(self):
        self.submitted = []

    def submit(self, run_id, kind=None):
        self.submitted.append((run_id, kind))


def test_launch_binds_the_bar_with_its_only_set_props(settings, monkeypatch):
    """Dash's background manager keeps only the last set_props between two polls: a second one would lose the
    run id that the bar's Cancel needs."""
    services = make_services(settings)
    services.runner = _Runner()
    told = []
    monkeypatch.setattr(job_watch, "set_props", lambda component_id, props: told.append((component_id, props)))
    run_id = job_watch.launch(services, "generate-train", {"steps": 1}, ids.GEN_TRAIN_PROGRESS)
    assert services.runner.submitted == [(run_id, "generate-train")]
    assert told == [(ids.job_run(ids.GEN_TRAIN_PROGRESS), {"data": run_id})]
    assert started_line(run_id, "generator training").startswith(f"Run {run_id} (generator training) started")
    services.store.dispose()


def test_sampling_without_a_model_says_the_line_that_training_clears(settings):
    services = make_services(settings)
    services.runner = _Runner()
    assert generate.run_sampling(services, None, None, None, 1, 0, 2, 2.0, None) == generate.NO_MODEL
    assert train_review.run_predict(services, None) == train.NO_ROUND
    assert services.runner.submitted == []
    services.store.dispose()
